package workload

import (
	"maps"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/internal/gitops"
)

func newTarget(replicas *int32, labels map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test", Labels: map[string]string{"app": "podinfo", "team": "a"},
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "3", "owner": "team-a"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       podSpecUsingConfigs(),
			},
		},
	}
}

func TestSelectorLabelTakesTheFirstCandidatePresent(t *testing.T) {
	cases := map[string]struct {
		labels    map[string]string // the target's selector
		wantKey   string
		wantError bool
	}{
		"app wins over name":            {labels: map[string]string{"name": "n", "app": "a"}, wantKey: "app"},
		"name when app is absent":       {labels: map[string]string{"name": "n"}, wantKey: "name"},
		"the recommended label":         {labels: map[string]string{"app.kubernetes.io/name": "x"}, wantKey: "app.kubernetes.io/name"},
		"no candidate is an error":      {labels: map[string]string{"tier": "web"}, wantError: true},
		"an empty value does not count": {labels: map[string]string{"app": ""}, wantError: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			key, _, err := SelectorLabel(newTarget(nil, tc.labels), []string{"app", "name", "app.kubernetes.io/name"})
			if tc.wantError {
				if err == nil || !strings.Contains(err.Error(), "--selector-labels") {
					t.Fatalf("error %v, want one naming --selector-labels", err)
				}
				return
			}
			if err != nil || key != tc.wantKey {
				t.Fatalf("SelectorLabel = %q, %v; want %q", key, err, tc.wantKey)
			}
		})
	}
}

func TestNewPrimaryCopiesTheTargetUnderPrimaryLabels(t *testing.T) {
	replicas := int32(3)
	target := newTarget(&replicas, map[string]string{"app": "podinfo"})
	spec := PrimarySpec{Target: target, LabelKey: "app", LabelValue: "podinfo", TrackedConfig: map[string]bool{"configmap/app-config": true}}
	p := spec.NewPrimary()
	if p.Name != "podinfo-primary" || p.Namespace != "test" {
		t.Errorf("primary %s/%s", p.Namespace, p.Name)
	}
	if *p.Spec.Replicas != 3 {
		t.Errorf("replicas %d, want 3", *p.Spec.Replicas)
	}
	if p.Spec.Selector.MatchLabels["app"] != "podinfo-primary" || p.Spec.Template.Labels["app"] != "podinfo-primary" {
		t.Errorf("selector %v, template labels %v", p.Spec.Selector.MatchLabels, p.Spec.Template.Labels)
	}
	if !maps.Equal(p.Labels, map[string]string{"app": "podinfo-primary"}) {
		t.Errorf("labels %v: want only the selector label, as with Flagger's default -include-label-prefix", p.Labels)
	}
	if _, ok := p.Annotations["deployment.kubernetes.io/revision"]; ok || p.Annotations["owner"] != "team-a" {
		t.Errorf("annotations %v: want the user's kept and the Deployment controller's dropped", p.Annotations)
	}
	if got := p.Spec.Template.Spec.Volumes[0].ConfigMap.Name; got != "app-config-primary" {
		t.Errorf("config reference %q, want app-config-primary", got)
	}
	if target.Spec.Template.Labels["app"] != "podinfo" || target.Spec.Template.Spec.Volumes[0].ConfigMap.Name != "app-config" {
		t.Error("NewPrimary modified the target")
	}
}

func TestNewPrimaryNeverStartsAtZeroReplicas(t *testing.T) {
	for _, replicas := range []*int32{nil, new(int32)} {
		p := PrimarySpec{Target: newTarget(replicas, map[string]string{"app": "podinfo"}), LabelKey: "app", LabelValue: "podinfo"}.NewPrimary()
		if *p.Spec.Replicas != 1 {
			t.Errorf("target replicas %v: primary replicas %d, want 1", replicas, *p.Spec.Replicas)
		}
	}
}

func TestTemplateHashChangesWithTheTemplate(t *testing.T) {
	d := newTarget(nil, map[string]string{"app": "podinfo"})
	h1 := TemplateHash(&d.Spec.Template)
	if h1 != TemplateHash(d.Spec.Template.DeepCopy()) {
		t.Fatal("hash is not deterministic")
	}
	d.Spec.Template.Spec.Containers[0].Image = "stefanprodan/podinfo:3.1.1"
	if TemplateHash(&d.Spec.Template) == h1 {
		t.Error("hash unchanged after an image change")
	}
}

// The acceptance case of issue 13: a target that Flux, Argo CD and Helm
// all left their marks on.
func TestThePrimaryCarriesNoGitOpsOwnershipMetadata(t *testing.T) {
	target := newTarget(nil, map[string]string{"app": "podinfo"})
	target.Labels = map[string]string{
		"app": "podinfo", "team": "a", "app.kubernetes.io/part-of": "shop",
		"app.kubernetes.io/instance":       "podinfo",
		"app.kubernetes.io/managed-by":     "Helm",
		"kustomize.toolkit.fluxcd.io/name": "apps", "helm.toolkit.fluxcd.io/name": "podinfo",
		"argocd.argoproj.io/instance": "shop",
	}
	target.Annotations = map[string]string{
		"owner":                             "team-a",
		"deployment.kubernetes.io/revision": "3",
		"argocd.argoproj.io/tracking-id":    "shop:apps/Deployment:test/podinfo",
		"meta.helm.sh/release-name":         "other", "meta.helm.sh/release-namespace": "test",
		"kustomize.toolkit.fluxcd.io/checksum":             "abc",
		"kubectl.kubernetes.io/last-applied-configuration": "{}",
	}
	target.Spec.Template.Labels["kustomize.toolkit.fluxcd.io/name"] = "apps"
	target.Spec.Template.Labels["app.kubernetes.io/instance"] = "podinfo"
	cases := map[string]struct {
		prefixes   []string // --include-label-prefix
		wantLabels map[string]string
	}{
		"with the default no label is copied": {wantLabels: map[string]string{"app": "podinfo-primary"}},
		"with a prefix the matching labels are copied": {prefixes: []string{"app.kubernetes.io/", "team"},
			wantLabels: map[string]string{"app": "podinfo-primary", "team": "a", "app.kubernetes.io/part-of": "shop"}},
		"with a star every label but ownership is copied": {prefixes: []string{"*"},
			wantLabels: map[string]string{"app": "podinfo-primary", "team": "a", "app.kubernetes.io/part-of": "shop"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			spec := PrimarySpec{Target: target, LabelKey: "app", LabelValue: "podinfo", Copy: gitops.CopyRule{LabelPrefixes: tc.prefixes}}
			p := spec.NewPrimary()
			if !maps.Equal(p.Labels, tc.wantLabels) {
				t.Errorf("labels %v, want %v", p.Labels, tc.wantLabels)
			}
			wantAnnotations := map[string]string{"owner": "team-a",
				"kustomize.toolkit.fluxcd.io/reconcile": "disabled", "helm.toolkit.fluxcd.io/driftDetection": "disabled"}
			if !maps.Equal(p.Annotations, wantAnnotations) {
				t.Errorf("annotations %v, want %v", p.Annotations, wantAnnotations)
			}
			wantTemplate := map[string]string{"app": "podinfo-primary", "app.kubernetes.io/instance": "podinfo"}
			if !maps.Equal(p.Spec.Template.Labels, wantTemplate) {
				t.Errorf("pod template labels %v, want %v (only Flux's keys dropped)", p.Spec.Template.Labels, wantTemplate)
			}
		})
	}
}

func TestApplyMetadataOnPromotionRemovesWhatTheTargetNoLongerHasAndKeepsTheRevision(t *testing.T) {
	target := newTarget(nil, map[string]string{"app": "podinfo"})
	primary := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{
		Labels:      map[string]string{"app": "podinfo-primary", "app.kubernetes.io/instance": "shop", "old": "x"},
		Annotations: map[string]string{"deployment.kubernetes.io/revision": "7", "argocd.argoproj.io/tracking-id": "shop:apps/Deployment:test/podinfo"},
	}}
	PrimarySpec{Target: target, LabelKey: "app", LabelValue: "podinfo", Copy: gitops.CopyRule{LabelPrefixes: []string{"team"}}}.ApplyMetadata(primary)
	if want := map[string]string{"app": "podinfo-primary", "team": "a"}; !maps.Equal(primary.Labels, want) {
		t.Errorf("labels %v, want %v", primary.Labels, want)
	}
	want := map[string]string{"owner": "team-a", "deployment.kubernetes.io/revision": "7",
		"kustomize.toolkit.fluxcd.io/reconcile": "disabled", "helm.toolkit.fluxcd.io/driftDetection": "disabled"}
	if !maps.Equal(primary.Annotations, want) {
		t.Errorf("annotations %v, want %v", primary.Annotations, want)
	}
}
