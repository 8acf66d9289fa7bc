package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

func TestShardLeaseNames(t *testing.T) {
	lease := func(selector string) string {
		t.Helper()
		s, err := ParseShard(selector)
		if err != nil {
			t.Fatalf("ParseShard(%q): %v", selector, err)
		}
		return s.LeaseName()
	}
	if got := lease(""); got != LeaderElectionID {
		t.Errorf("an unsharded operator elects on %q, want %q", got, LeaderElectionID)
	}
	if a, b := lease("team=a,env=prod"), lease("env = prod, team=a"); a != b {
		t.Errorf("two spellings of one selector elect on %q and %q, want one lease", a, b)
	}
	names := map[string]string{}
	for _, sel := range []string{"sharding.fluxcd.io/key=shard1", "sharding.fluxcd.io/key=shard2", "!sharding.fluxcd.io/key", "team in (a,b)"} {
		name := lease(sel)
		if other, ok := names[name]; ok {
			t.Errorf("selectors %q and %q share the lease %q", sel, other, name)
		}
		names[name] = sel
		if len(name) > 63 || !strings.HasSuffix(name, ".flagger.app") {
			t.Errorf("lease name %q of %q: want a short name ending in .flagger.app", name, sel)
		}
	}
}

func TestParseShardRefusesWhatIsNotASelector(t *testing.T) {
	for _, sel := range []string{"key=a=b", "in (a)", "key notin a"} {
		if _, err := ParseShard(sel); err == nil || !strings.Contains(err.Error(), "is not a label selector") {
			t.Errorf("ParseShard(%q) = %v, want a refusal naming it", sel, err)
		}
	}
}

func TestTheCacheHoldsOnlyTheShardsCanaries(t *testing.T) {
	s, err := ParseShard("sharding.fluxcd.io/key=shard1")
	if err != nil {
		t.Fatal(err)
	}
	opts := CacheOptions("", s)
	for obj, by := range opts.ByObject {
		if _, ok := obj.(*flaggerv1.Canary); ok {
			if by.Label == nil || by.Label.String() != "sharding.fluxcd.io/key=shard1" {
				t.Errorf("canaries are cached with selector %v", by.Label)
			}
			return
		}
	}
	t.Errorf("the cache options select no canaries: %+v", opts.ByObject)
}

// A lever's requester is read from the Canary's managedFields, so the cache
// must not drop them (it did: every lever was recorded without requester).
func TestCachedCanariesKeepTheirManagedFields(t *testing.T) {
	for obj, by := range CacheOptions("", Shard{}).ByObject {
		if _, ok := obj.(*flaggerv1.Canary); !ok {
			continue
		}
		c := &flaggerv1.Canary{ObjectMeta: metav1.ObjectMeta{Name: "podinfo",
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl-serin:alice"}}}}
		if by.Transform == nil {
			t.Fatal("canaries get the default transform, which drops managedFields")
		}
		got, err := by.Transform(c)
		if err != nil || len(got.(*flaggerv1.Canary).ManagedFields) != 1 {
			t.Errorf("the cached Canary is %+v, %v; want its managedFields kept", got, err)
		}
		return
	}
	t.Error("the cache options have no entry for canaries")
}

func TestCachedConfigMetadataKeepsOnlyWhatTheConfigReaderReads(t *testing.T) {
	secret := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
		Name: "podinfo-secret", Namespace: "prod", UID: "u1", ResourceVersion: "42",
		Labels:        map[string]string{"app": "podinfo"},
		Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"data":{"token":"czNjcjN0"}}`},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}}
	got, err := slimObject(secret)
	if err != nil {
		t.Fatal(err)
	}
	m := got.(*metav1.PartialObjectMetadata)
	if m.Name != "podinfo-secret" || m.Namespace != "prod" || m.UID != "u1" || m.ResourceVersion != "42" {
		t.Errorf("the identity of the Secret was lost: %+v", m.ObjectMeta)
	}
	if m.Annotations != nil || m.Labels != nil || m.ManagedFields != nil {
		t.Errorf("the cached Secret metadata keeps %+v", m.ObjectMeta)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Annotations: map[string]string{"a": "b"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	if _, err := slimObject(svc); err != nil || svc.ManagedFields != nil || svc.Annotations["a"] != "b" {
		t.Errorf("a cached Service: %+v, %v; want its annotations without managedFields", svc.ObjectMeta, err)
	}
}
