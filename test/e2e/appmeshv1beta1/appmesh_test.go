// Package appmeshv1beta1 tests the appmesh (v1beta1) provider on a cluster
// of its own: the App Mesh v1beta1 CRDs have the same names as the v1beta2
// ones, so a cluster holds one or the other, as real clusters did.
package appmeshv1beta1

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/internal/router/appmesh"
	meshv1beta1 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

func TestMain(m *testing.M) { framework.Main(m, "appmeshv1beta1", "test/crds/appmesh/v1beta1") }

func applySeed(t *testing.T, ns, provider string) {
	t.Helper()
	e := framework.Get()
	e.Apply(t, ns, "podinfo.yaml")
	obj := framework.ReadObjects(t, "canary-v1alpha3.yaml")[0]
	obj.SetNamespace(ns)
	_ = unstructured.SetNestedField(obj.Object, provider, "spec", "provider")
	if err := e.Client.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
}

func waitForCanary(t *testing.T, ns string, what string, cond func(c *flaggerv1.Canary) (bool, string)) *flaggerv1.Canary {
	t.Helper()
	c := &flaggerv1.Canary{}
	framework.Eventually(t, 30*time.Second, what, func(ctx context.Context) (bool, string) {
		if err := framework.Get().Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, c); err != nil {
			return false, err.Error()
		}
		return cond(c)
	})
	return c
}

// The seed's canary with the seed-era provider (no meshName in the spec,
// the mesh from --mesh-name) generates the v1beta1 objects of the
// reference.
func TestSeedCanaryGeneratesV1beta1Objects(t *testing.T) {
	e := framework.Get()
	ns := e.Namespace(t)
	e.StartOperator(t, "--namespace="+ns, "--mesh-name=appmesh-dev")
	applySeed(t, ns, "appmesh")
	canary := waitForCanary(t, ns, "Initialized", func(c *flaggerv1.Canary) (bool, string) {
		return c.Status.Phase == flaggerv1.CanaryPhaseInitialized, fmt.Sprintf("phase %s %+v", c.Status.Phase, c.Status.Conditions)
	})
	for _, name := range []string{"podinfo", "podinfo-primary", "podinfo-canary"} {
		vn := &meshv1beta1.VirtualNode{}
		framework.MustGet(t, ns, name, vn)
		framework.AssertGenerated(t, vn, canary)
		if vn.Spec.MeshName != "appmesh-dev" || vn.Spec.Listeners[0].PortMapping.Port != 9898 {
			t.Errorf("virtual node %s: mesh %q listeners %+v", name, vn.Spec.MeshName, vn.Spec.Listeners)
		}
	}
	for name, want := range map[string]string{
		"podinfo." + ns:        "podinfo-primary=100 podinfo-canary=0",
		"podinfo-canary." + ns: "podinfo-canary=100",
	} {
		vs := &meshv1beta1.VirtualService{}
		framework.MustGet(t, ns, name, vs)
		framework.AssertGenerated(t, vs, canary)
		var got []string
		for _, r := range vs.Spec.Routes {
			for _, wt := range r.HTTP.Action.WeightedTargets {
				got = append(got, fmt.Sprintf("%s=%d", wt.VirtualNodeName, wt.Weight))
			}
		}
		if strings.Join(got, " ") != want || vs.Spec.MeshName != "appmesh-dev" {
			t.Errorf("virtual service %s routes %v (mesh %q), want %s", name, got, vs.Spec.MeshName, want)
		}
	}
}

// A provider whose CRDs are missing (App Mesh v1beta2 and Istio here) is
// reported in a condition and an event naming the kind, not in a crash
// loop.
func TestMissingProviderCRDsAreReported(t *testing.T) {
	for provider, want := range map[string][]string{
		"appmesh:v1beta2": {"(appmesh.k8s.aws/v1beta2) is not installed", "install the AWS App Mesh controller"},
		"istio":           {"the DestinationRule kind (networking.istio.io/v1beta1) is not installed", "install Istio"},
	} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := framework.Get()
			ns := e.Namespace(t)
			op := e.StartOperator(t, "--namespace="+ns)
			applySeed(t, ns, provider)
			c := waitForCanary(t, ns, "a Ready=False condition", func(c *flaggerv1.Canary) (bool, string) {
				cond := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.ReadyCondition)
				return cond != nil && cond.Reason == "MeshNotInstalled", fmt.Sprintf("conditions %+v", c.Status.Conditions)
			})
			msg := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.ReadyCondition).Message
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("condition message %q does not contain %q", msg, w)
				}
			}
			if !strings.Contains(op.Log(), `"reason":"MeshNotInstalled"`) {
				t.Error("no log line explains the missing CRDs")
			}
		})
	}
}

// The v1beta1 router writes weights that are visible and read back, and a
// second reconcile in a row writes nothing.
func TestV1beta1RouterSetsWeightsAndReconcilesWithoutWrites(t *testing.T) {
	e := framework.Get()
	ns := e.Namespace(t)
	applySeed(t, ns, "appmesh")
	c := &flaggerv1.Canary{}
	framework.MustGet(t, ns, "podinfo", c)
	ctx := context.Background()
	r := appmesh.NewV1beta1(e.Client, e.Scheme, "appmesh-dev")
	if err := r.Reconcile(ctx, c, router.Weights{Primary: 100}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetRoutes(ctx, c, router.Weights{Primary: 95, Canary: 5}); err != nil {
		t.Fatal(err)
	}
	if w, err := r.GetRoutes(ctx, c); err != nil || w.Primary != 95 || w.Canary != 5 {
		t.Fatalf("GetRoutes = %+v, %v; want 95/5", w, err)
	}
	vs := &meshv1beta1.VirtualService{}
	framework.MustGet(t, ns, "podinfo."+ns, vs)
	before := vs.ResourceVersion
	for range 2 {
		if err := r.Reconcile(ctx, c, router.Weights{Primary: 100}); err != nil {
			t.Fatal(err)
		}
	}
	framework.MustGet(t, ns, "podinfo."+ns, vs)
	if vs.ResourceVersion != before {
		t.Errorf("reconcile wrote the virtual service: resourceVersion %s -> %s", before, vs.ResourceVersion)
	}
	if got := vs.Spec.Routes[0].HTTP.Action.WeightedTargets; got[0].Weight != 95 || got[1].Weight != 5 {
		t.Errorf("weights on the object %+v, want 95/5", got)
	}
}
