package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// Moving a live canary from appmesh:v1beta2 to Gateway API or Istio in the
// middle of an analysis converges: the new routing object takes over the
// current weights, the App Mesh objects go, and the release completes on
// the new provider. Moving it on to the kubernetes provider then removes
// the new provider's objects too.
func TestSwitchingProviderMidAnalysisConverges(t *testing.T) {
	cases := map[string]struct {
		// canaryWeight reads the canary's weight on the new routing object.
		canaryWeight func(ctx context.Context, ns string) (int, error)
	}{
		"gatewayapi:v1": {canaryWeight: func(ctx context.Context, ns string) (int, error) {
			route := &gatewayv1.HTTPRoute{}
			if err := framework.Get().Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, route); err != nil {
				return 0, err
			}
			return int(*route.Spec.Rules[0].BackendRefs[1].Weight), nil
		}},
		"istio": {canaryWeight: func(ctx context.Context, ns string) (int, error) {
			vs := &istiov1beta1.VirtualService{}
			if err := framework.Get().Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, vs); err != nil {
				return 0, err
			}
			return int(vs.Spec.Http[0].Route[1].Weight), nil
		}},
	}
	for provider, tc := range cases {
		t.Run("appmesh:v1beta2 to "+provider, func(t *testing.T) {
			t.Parallel()
			switchProviderMidAnalysis(t, provider, tc.canaryWeight)
		})
	}
}

func switchProviderMidAnalysis(t *testing.T, provider string, canaryWeight func(ctx context.Context, ns string) (int, error)) {
	e := framework.Get()
	ns := e.Namespace(t)
	op := e.StartOperator(t, "--namespace="+ns)
	e.Apply(t, ns, "podinfo.yaml")
	e.Apply(t, ns, "canary-migration.yaml")
	waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)

	d := &appsv1.Deployment{}
	framework.MustGet(t, ns, "podinfo", d)
	patch := client.MergeFrom(d.DeepCopy())
	d.Spec.Template.Spec.Containers[0].Image = "stefanprodan/podinfo:3.1.1"
	if err := e.Client.Patch(context.Background(), d, patch); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, "the canary to reach weight 20 on App Mesh", func(ctx context.Context) (bool, string) {
		c := &flaggerv1.Canary{}
		if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, c); err != nil {
			return false, err.Error()
		}
		return c.Status.CanaryWeight >= 20, fmt.Sprintf("weight %d", c.Status.CanaryWeight)
	})

	c := getCanary(t, ns)
	patch = client.MergeFrom(c.DeepCopy())
	c.Spec.Provider = provider
	if err := e.Client.Patch(context.Background(), c, patch); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "the new routing object to carry the canary's weight and App Mesh to be gone", func(ctx context.Context) (bool, string) {
		c := &flaggerv1.Canary{}
		if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, c); err != nil {
			return false, err.Error()
		}
		w, err := canaryWeight(ctx, ns)
		if err != nil {
			return false, err.Error()
		}
		left := routingVersions(t, ns)
		appMeshGone := !strings.Contains(left, "vn/") && !strings.Contains(left, "vr/") && !strings.Contains(left, "vs/")
		return c.Status.Provider == provider && w == c.Status.CanaryWeight && w > 0 && appMeshGone,
			fmt.Sprintf("status.provider %s, canary weight %d on the new object, status weight %d, routing objects %s", c.Status.Provider, w, c.Status.CanaryWeight, left)
	})
	waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseSucceeded, 60*time.Second)
	w, err := canaryWeight(context.Background(), ns)
	if err != nil || w != 0 {
		t.Errorf("after promotion the %s routing sends %d%% to the canary (%v)", provider, w, err)
	}
	assertEvent(t, ns, "podinfo", fmt.Sprintf("Routing of podinfo.%s moved from appmesh:v1beta2 to %s", ns, provider))

	c = getCanary(t, ns)
	patch = client.MergeFrom(c.DeepCopy())
	// The kubernetes provider cannot split by weight: blue/green.
	c.Spec.Provider = "kubernetes"
	c.Spec.Analysis.StepWeight, c.Spec.Analysis.StepWeights, c.Spec.Analysis.MaxWeight, c.Spec.Analysis.Iterations = 0, nil, 0, 5
	if err := e.Client.Patch(context.Background(), c, patch); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "the "+provider+" routing objects to go", func(ctx context.Context) (bool, string) {
		c := &flaggerv1.Canary{}
		if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, c); err != nil {
			return false, err.Error()
		}
		left := routingVersions(t, ns)
		return c.Status.Provider == "kubernetes" && left == "", fmt.Sprintf("status.provider %s, routing objects %q", c.Status.Provider, left)
	})
	if lines := op.ErrorLines(); len(lines) > 0 {
		t.Errorf("operator logged errors:\n%v", lines)
	}
}
