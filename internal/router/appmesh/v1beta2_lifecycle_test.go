package appmesh

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	mesh "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
)

// actAsAppMeshController fills in what the App Mesh controller and others
// own on the apex router: awsName, meshRef, status, a label and an
// annotation.
func actAsAppMeshController(t *testing.T, cl client.Client) {
	t.Helper()
	ctx := context.Background()
	vr := mustGet(t, cl, "podinfo", &mesh.VirtualRouter{})
	vr.Spec.AWSName = ptr.To("podinfo_test")
	vr.Spec.MeshRef = &mesh.MeshReference{Name: "global", UID: "mesh-uid"}
	vr.Labels = map[string]string{"team": "web"}
	vr.Annotations["example.com/note"] = "keep"
	if err := cl.Update(ctx, vr); err != nil {
		t.Fatal(err)
	}
	vr.Status = mesh.VirtualRouterStatus{
		VirtualRouterARN: ptr.To("arn:aws:appmesh:eu-west-1:1:mesh/global/virtualRouter/podinfo_test"),
		Conditions:       []mesh.Condition{{Type: "VirtualRouterActive", Status: corev1.ConditionTrue}},
	}
	if err := cl.Status().Update(ctx, vr); err != nil {
		t.Fatal(err)
	}
}

func TestV1beta2ReconcileKeepsFieldsOthersOwn(t *testing.T) {
	ctx := context.Background()
	r, cl := reconcileV1beta2(t, newCanary())
	actAsAppMeshController(t, cl)

	writes := cl.writes.Load()
	if err := r.Reconcile(ctx, newCanary(), initialWeights); err != nil {
		t.Fatal(err)
	}
	if n := cl.writes.Load() - writes; n != 0 {
		t.Errorf("reconcile after the App Mesh controller's changes made %d writes, want none", n)
	}
	// A spec change patches the router, and only what the canary owns.
	if err := r.Reconcile(ctx, newCanary(withTimeout("20s")), initialWeights); err != nil {
		t.Fatal(err)
	}
	vr := mustGet(t, cl, "podinfo", &mesh.VirtualRouter{})
	if got := vr.Spec.Routes[0].HTTPRoute.Timeout; got == nil || *got.PerRequest != (mesh.Duration{Unit: "s", Value: 20}) {
		t.Errorf("timeout not applied: %+v", got)
	}
	assertSame(t, "awsName", vr.Spec.AWSName, ptr.To("podinfo_test"))
	assertSame(t, "meshRef", vr.Spec.MeshRef, &mesh.MeshReference{Name: "global", UID: "mesh-uid"})
	assertSame(t, "labels", vr.Labels, map[string]string{"team": "web"})
	assertSame(t, "annotations", vr.Annotations, map[string]string{"example.com/note": "keep",
		"kustomize.toolkit.fluxcd.io/reconcile": "disabled", "helm.toolkit.fluxcd.io/driftDetection": "disabled"})
	if vr.Status.VirtualRouterARN == nil || len(vr.Status.Conditions) != 1 {
		t.Errorf("status lost: %+v", vr.Status)
	}
	assertGeneratedByCanary(t, vr)
}

func TestV1beta2ABTestingRoutesMatchedRequestsAheadOfTheDefault(t *testing.T) {
	ctx := context.Background()
	c := newCanary(
		withHeader("x-user-type", flaggerv1.StringMatch{Exact: "insider"}),
		withABMatch(flaggerv1.HTTPMatchRequest{Headers: map[string]flaggerv1.StringMatch{
			"user-agent": {Suffix: "Firefox"},
			"cookie":     {Regex: "^(.*?;)?(canary=always)(;.*)?$"},
		}}),
	)
	r, cl := reconcileV1beta2(t, c)
	if err := r.SetRoutes(ctx, c, router.Weights{Canary: 100}); err != nil {
		t.Fatal(err)
	}
	routes := mustGet(t, cl, "podinfo", &mesh.VirtualRouter{}).Spec.Routes
	toCanary := []mesh.WeightedTarget{{VirtualNodeRef: vnodeRef("podinfo-primary"), Weight: 0}, {VirtualNodeRef: vnodeRef("podinfo-canary"), Weight: 100}}
	toPrimary := []mesh.WeightedTarget{{VirtualNodeRef: vnodeRef("podinfo-primary"), Weight: 100}, {VirtualNodeRef: vnodeRef("podinfo-canary"), Weight: 0}}
	want := []struct {
		name     string
		priority int64
		headers  []mesh.HTTPRouteHeader
		targets  []mesh.WeightedTarget
	}{
		{"podinfo-route", 10, []mesh.HTTPRouteHeader{{Name: "x-user-type", Match: &mesh.HeaderMatchMethod{Exact: ptr.To("insider")}}}, toCanary},
		{"podinfo-route-2", 10, []mesh.HTTPRouteHeader{
			{Name: "cookie", Match: &mesh.HeaderMatchMethod{Regex: ptr.To("^(.*?;)?(canary=always)(;.*)?$")}},
			{Name: "user-agent", Match: &mesh.HeaderMatchMethod{Suffix: ptr.To("Firefox")}},
		}, toCanary},
		{"podinfo-route-default", 20, nil, toPrimary},
	}
	if len(routes) != len(want) {
		t.Fatalf("got %d routes, want %d: %+v", len(routes), len(want), routes)
	}
	for i, w := range want {
		rt := routes[i]
		if rt.Name != w.name || rt.Priority == nil || *rt.Priority != w.priority {
			t.Errorf("route %d: got %s priority %v, want %s priority %d", i, rt.Name, rt.Priority, w.name, w.priority)
		}
		assertSame(t, w.name+" headers", rt.HTTPRoute.Match.Headers, w.headers)
		assertSame(t, w.name+" targets", rt.HTTPRoute.Action.WeightedTargets, w.targets)
	}
	if got, err := r.GetRoutes(ctx, c); err != nil || got != (router.Weights{Canary: 100}) {
		t.Errorf("GetRoutes: got %+v, %v; want 0/100", got, err)
	}
}

func TestV1beta2FinalizeRoutesAllTrafficToTheCanary(t *testing.T) {
	tests := map[string]struct {
		// opts configure the canary.
		opts []canaryOption
	}{
		"a weighted release":                    {},
		"an A/B release, default route as well": {opts: []canaryOption{withHeader("x-canary", flaggerv1.StringMatch{Exact: "1"})}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := newCanary(tc.opts...)
			r, cl := reconcileV1beta2(t, c)
			if err := r.SetRoutes(ctx, c, router.Weights{Primary: 70, Canary: 30}); err != nil {
				t.Fatal(err)
			}
			if err := r.Finalize(ctx, c); err != nil {
				t.Fatal(err)
			}
			for _, rt := range mustGet(t, cl, "podinfo", &mesh.VirtualRouter{}).Spec.Routes {
				assertSame(t, rt.Name+" targets", rt.HTTPRoute.Action.WeightedTargets, []mesh.WeightedTarget{
					{VirtualNodeRef: vnodeRef("podinfo-primary"), Weight: 0}, {VirtualNodeRef: vnodeRef("podinfo-canary"), Weight: 100},
				})
			}
		})
	}
}

func TestV1beta2FinalizeWithoutRouterHasNothingToDo(t *testing.T) {
	cl := newCluster(t, true)
	if err := NewV1beta2(cl, cl.scheme).Finalize(context.Background(), newCanary()); err != nil {
		t.Errorf("finalize: %v", err)
	}
}

func TestV1beta2CleanupDeletesTheCanarysObjectsOnly(t *testing.T) {
	ctx := context.Background()
	r, cl := reconcileV1beta2(t, newCanary())
	// Someone else's object with a canary object's name stays.
	foreign := mustGet(t, cl, "podinfo-canary", &mesh.VirtualService{})
	foreign.OwnerReferences[0].UID = "someone-else"
	if err := cl.Update(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	if err := r.Cleanup(ctx, newCanary()); err != nil {
		t.Fatal(err)
	}
	gone := []client.Object{
		&mesh.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: "podinfo"}},
		&mesh.VirtualRouter{ObjectMeta: metav1.ObjectMeta{Name: "podinfo"}},
		&mesh.VirtualRouter{ObjectMeta: metav1.ObjectMeta{Name: "podinfo-canary"}},
		&mesh.VirtualNode{ObjectMeta: metav1.ObjectMeta{Name: "podinfo-primary"}},
		&mesh.VirtualNode{ObjectMeta: metav1.ObjectMeta{Name: "podinfo-canary"}},
	}
	for _, o := range gone {
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.GetName()}, o); !apierrors.IsNotFound(err) {
			t.Errorf("%T %s: want not found, got %v", o, o.GetName(), err)
		}
	}
	mustGet(t, cl, "podinfo-canary", &mesh.VirtualService{})
	// Cleaning up twice finds nothing more to do.
	if err := r.Cleanup(ctx, newCanary()); err != nil {
		t.Errorf("second cleanup: %v", err)
	}
}

func TestV1beta2ReportsMissingAppMeshKinds(t *testing.T) {
	ctx := context.Background()
	cl := newCluster(t, false)
	r := NewV1beta2(cl, cl.scheme)
	c := newCanary()
	calls := map[string]struct {
		// call is the router method.
		call func() error
		// wantKind is the kind the error names.
		wantKind string
	}{
		"reconcile names the first kind it writes": {func() error { return r.Reconcile(ctx, c, initialWeights) }, "VirtualNode"},
		"set routes names the router kind": {
			func() error { return r.SetRoutes(ctx, c, router.Weights{Primary: 90, Canary: 10}) }, "VirtualRouter"},
		"get routes names the router kind": {func() error { _, err := r.GetRoutes(ctx, c); return err }, "VirtualRouter"},
		"finalize has nothing to restore":  {func() error { return r.Finalize(ctx, c) }, ""},
		"cleanup has nothing to delete":    {func() error { return r.Cleanup(ctx, c) }, ""},
	}
	for name, tc := range calls {
		t.Run(name, func(t *testing.T) {
			err := tc.call()
			var missing *router.MissingKindError
			switch {
			case tc.wantKind == "" && err != nil:
				t.Errorf("want no error when the kinds are not installed, got %v", err)
			case tc.wantKind != "" && !errors.As(err, &missing):
				t.Errorf("want a MissingKindError, got %v", err)
			case tc.wantKind != "" && (missing.Kind != tc.wantKind || missing.APIVersion != "appmesh.k8s.aws/v1beta2"):
				t.Errorf("got kind %s %s, want %s appmesh.k8s.aws/v1beta2", missing.Kind, missing.APIVersion, tc.wantKind)
			}
		})
	}
}
