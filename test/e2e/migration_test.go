package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// Moving a live canary from appmesh:v1beta2 to gatewayapi:v1 in the middle
// of an analysis converges: the HTTPRoute takes over the current weights,
// the App Mesh objects go, and the release completes on the HTTPRoute.
func TestSwitchingProviderMidAnalysisConverges(t *testing.T) {
	t.Parallel()
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
	c.Spec.Provider = "gatewayapi:v1"
	if err := e.Client.Patch(context.Background(), c, patch); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 30*time.Second, "the HTTPRoute to carry the canary's weight and App Mesh to be gone", func(ctx context.Context) (bool, string) {
		c := &flaggerv1.Canary{}
		route := &gatewayv1.HTTPRoute{}
		if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, c); err != nil {
			return false, err.Error()
		}
		if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, route); err != nil {
			return false, err.Error()
		}
		w := int(*route.Spec.Rules[0].BackendRefs[1].Weight)
		left := routingVersions(t, ns)
		onlyRoute := left == "httproute/podinfo@"+route.ResourceVersion
		return c.Status.Provider == "gatewayapi:v1" && w == c.Status.CanaryWeight && w > 0 && onlyRoute,
			fmt.Sprintf("status.provider %s, route canary weight %d, status weight %d, routing objects %s", c.Status.Provider, w, c.Status.CanaryWeight, left)
	})
	waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseSucceeded, 60*time.Second)
	route := &gatewayv1.HTTPRoute{}
	framework.MustGet(t, ns, "podinfo", route)
	if w := *route.Spec.Rules[0].BackendRefs[1].Weight; w != 0 {
		t.Errorf("after promotion the HTTPRoute sends %d%% to the canary", w)
	}
	assertEvent(t, ns, "podinfo", fmt.Sprintf("Routing of podinfo.%s moved from appmesh:v1beta2 to gatewayapi:v1", ns))
	if lines := op.ErrorLines(); len(lines) > 0 {
		t.Errorf("operator logged errors:\n%v", lines)
	}
}
