package appmesh

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	mesh "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta1"
)

// seedCanary is the seed's canary: provider appmesh, no meshName.
func seedCanary(opts ...canaryOption) *flaggerv1.Canary {
	c := newCanary(opts...)
	c.Spec.Provider = "appmesh"
	return c
}

// reconcileV1beta1 reconciles canary c on a fresh cluster, with the
// operator's --mesh-name set to global.
func reconcileV1beta1(t *testing.T, c *flaggerv1.Canary) (*V1beta1, cluster) {
	t.Helper()
	cl := newCluster(t, true)
	r := NewV1beta1(cl, cl.scheme, "global")
	if err := r.Reconcile(context.Background(), c, initialWeights); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	return r, cl
}

func v1beta1Route(name string, targets ...mesh.WeightedTarget) mesh.Route {
	return mesh.Route{Name: name, HTTP: &mesh.HTTPRoute{
		Match:  mesh.HTTPRouteMatch{Prefix: "/"},
		Action: mesh.HTTPRouteAction{WeightedTargets: targets},
	}}
}

func TestV1beta1ReconcileWritesTheSeedsObjects(t *testing.T) {
	_, cl := reconcileV1beta1(t, seedCanary())
	http := mesh.PortMapping{Port: 9898, Protocol: "http"}
	for _, name := range []string{"podinfo", "podinfo-primary", "podinfo-canary"} {
		vn := mustGet(t, cl, name, &mesh.VirtualNode{})
		assertGeneratedByCanary(t, vn)
		assertSame(t, "VirtualNode "+name, vn.Spec, mesh.VirtualNodeSpec{
			MeshName:         "global",
			Listeners:        []mesh.Listener{{PortMapping: http}},
			ServiceDiscovery: &mesh.ServiceDiscovery{DNS: &mesh.DNSServiceDiscovery{HostName: name + ".test"}},
		})
	}
	apex := mustGet(t, cl, "podinfo.test", &mesh.VirtualService{})
	assertGeneratedByCanary(t, apex)
	assertSame(t, "VirtualService podinfo.test", apex.Spec, mesh.VirtualServiceSpec{
		MeshName:      "global",
		VirtualRouter: &mesh.VirtualRouter{Name: "podinfo-router", Listeners: []mesh.VirtualRouterListener{{PortMapping: http}}},
		Routes: []mesh.Route{v1beta1Route("podinfo-route",
			mesh.WeightedTarget{VirtualNodeName: "podinfo-primary", Weight: 100},
			mesh.WeightedTarget{VirtualNodeName: "podinfo-canary", Weight: 0})},
	})
	canary := mustGet(t, cl, "podinfo-canary.test", &mesh.VirtualService{})
	assertGeneratedByCanary(t, canary)
	assertSame(t, "VirtualService podinfo-canary.test", canary.Spec, mesh.VirtualServiceSpec{
		MeshName:      "global",
		VirtualRouter: &mesh.VirtualRouter{Name: "podinfo-canary-router", Listeners: []mesh.VirtualRouterListener{{PortMapping: http}}},
		Routes:        []mesh.Route{v1beta1Route("podinfo-canary-route", mesh.WeightedTarget{VirtualNodeName: "podinfo-canary", Weight: 100})},
	})
}

func TestV1beta1MeshNameComesFromTheSpecOrTheOperatorFlag(t *testing.T) {
	tests := map[string]struct {
		// specMesh is spec.service.meshName, flagMesh the operator's flag.
		specMesh, flagMesh string
		// want is the mesh of the objects; empty means an error.
		want string
	}{
		"the flag when the spec has none": {flagMesh: "global", want: "global"},
		"the spec over the flag":          {specMesh: "team", flagMesh: "global", want: "team"},
		"the spec without a flag":         {specMesh: "team", want: "team"},
		"an error naming both when unset": {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cl := newCluster(t, true)
			err := NewV1beta1(cl, cl.scheme, tc.flagMesh).Reconcile(context.Background(), seedCanary(withMeshName(tc.specMesh)), initialWeights)
			if tc.want == "" {
				if !errors.Is(err, ErrNoMeshName) || !strings.Contains(err.Error(), "spec.service.meshName") || !strings.Contains(err.Error(), "--mesh-name") {
					t.Errorf("want ErrNoMeshName naming spec.service.meshName and --mesh-name, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"podinfo", "podinfo-primary", "podinfo-canary"} {
				if got := mustGet(t, cl, name, &mesh.VirtualNode{}).Spec.MeshName; got != tc.want {
					t.Errorf("VirtualNode %s mesh: got %q, want %q", name, got, tc.want)
				}
			}
			if got := mustGet(t, cl, "podinfo.test", &mesh.VirtualService{}).Spec.MeshName; got != tc.want {
				t.Errorf("VirtualService mesh: got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestV1beta1RoutesAndNodesFollowTheServiceSpec(t *testing.T) {
	arn := "arn:aws:appmesh:eu-west-1:123456789012:mesh/global/virtualService/backend.prod"
	c := seedCanary(withTargetPort(intstr.FromString("grpc")), withURIPrefix("/api"), withBackends("backend.test", arn),
		withRetries(flaggerv1.HTTPRetry{Attempts: 2, PerTryTimeout: "1s", RetryOn: "gateway-error,connect-failure"}))
	_, cl := reconcileV1beta1(t, c)
	vn := mustGet(t, cl, "podinfo-primary", &mesh.VirtualNode{})
	assertSame(t, "listener", vn.Spec.Listeners, []mesh.Listener{{PortMapping: mesh.PortMapping{Port: 9999, Protocol: "http"}}})
	assertSame(t, "backends", vn.Spec.Backends, []mesh.Backend{
		{VirtualService: mesh.VirtualServiceBackend{VirtualServiceName: "backend.test"}},
		{VirtualService: mesh.VirtualServiceBackend{VirtualServiceName: "backend.prod"}},
	})
	route := mustGet(t, cl, "podinfo.test", &mesh.VirtualService{}).Spec.Routes[0].HTTP
	assertSame(t, "prefix", route.Match.Prefix, "/api")
	assertSame(t, "retry policy", route.RetryPolicy, &mesh.HTTPRetryPolicy{
		PerRetryTimeoutMillis: ptr.To[int64](1000), MaxRetries: ptr.To[int64](2),
		HTTPRetryEvents: []string{"gateway-error"}, TCPRetryEvents: []string{"connection-error"},
	})
}

func TestV1beta1SetRoutesIsReadBackAndKeptByReconcile(t *testing.T) {
	ctx := context.Background()
	r, cl := reconcileV1beta1(t, seedCanary())
	if err := r.SetRoutes(ctx, seedCanary(), router.Weights{Primary: 95, Canary: 5}); err != nil {
		t.Fatal(err)
	}
	if w, err := r.GetRoutes(ctx, seedCanary()); err != nil || w != (router.Weights{Primary: 95, Canary: 5}) {
		t.Fatalf("after SetRoutes(95/5): got %+v, %v", w, err)
	}
	rv := mustGet(t, cl, "podinfo.test", &mesh.VirtualService{}).ResourceVersion
	writes := cl.writes.Load()
	if err := r.Reconcile(ctx, seedCanary(), initialWeights); err != nil {
		t.Fatal(err)
	}
	if n := cl.writes.Load() - writes; n != 0 {
		t.Errorf("reconcile of an unchanged canary made %d writes, want none", n)
	}
	if got := mustGet(t, cl, "podinfo.test", &mesh.VirtualService{}).ResourceVersion; got != rv {
		t.Errorf("resourceVersion changed from %s to %s", rv, got)
	}
	if w, _ := r.GetRoutes(ctx, seedCanary()); w != (router.Weights{Primary: 95, Canary: 5}) {
		t.Errorf("reconcile changed the weights to %+v", w)
	}
}

func TestV1beta1ReconcileKeepsTheAppMeshControllersStatus(t *testing.T) {
	ctx := context.Background()
	r, cl := reconcileV1beta1(t, seedCanary())
	vs := mustGet(t, cl, "podinfo.test", &mesh.VirtualService{})
	vs.Status.VirtualServiceArn = ptr.To("arn:aws:appmesh:eu-west-1:1:mesh/global/virtualService/podinfo.test")
	vs.Status.Conditions = []mesh.Condition{{Type: "VirtualServiceActive", Status: corev1.ConditionTrue}}
	if err := cl.Status().Update(ctx, vs); err != nil {
		t.Fatal(err)
	}
	if err := r.Reconcile(ctx, seedCanary(withURIPrefix("/v2")), initialWeights); err != nil {
		t.Fatal(err)
	}
	vs = mustGet(t, cl, "podinfo.test", &mesh.VirtualService{})
	if vs.Spec.Routes[0].HTTP.Match.Prefix != "/v2" || vs.Status.VirtualServiceArn == nil || len(vs.Status.Conditions) != 1 {
		t.Errorf("want prefix /v2 and the status kept, got prefix %s and status %+v", vs.Spec.Routes[0].HTTP.Match.Prefix, vs.Status)
	}
}

func TestV1beta1ABTestingAndFinalize(t *testing.T) {
	ctx := context.Background()
	c := seedCanary(withHeader("x-canary", flaggerv1.StringMatch{Prefix: "ins"}))
	r, cl := reconcileV1beta1(t, c)
	if err := r.SetRoutes(ctx, c, router.Weights{Primary: 50, Canary: 50}); err != nil {
		t.Fatal(err)
	}
	routes := mustGet(t, cl, "podinfo.test", &mesh.VirtualService{}).Spec.Routes
	if len(routes) != 2 || routes[0].Name != "podinfo-route" || *routes[0].Priority != 10 || routes[1].Name != "podinfo-route-default" || *routes[1].Priority != 20 {
		t.Fatalf("want podinfo-route at 10 and podinfo-route-default at 20, got %+v", routes)
	}
	assertSame(t, "header match", routes[0].HTTP.Match.Headers, []mesh.HTTPRouteHeader{{Name: "x-canary", Match: &mesh.HeaderMatchMethod{Prefix: ptr.To("ins")}}})
	assertSame(t, "A/B targets", routes[0].HTTP.Action.WeightedTargets, v1beta1Targets(namesOf(c), router.Weights{Primary: 50, Canary: 50}))
	assertSame(t, "default targets", routes[1].HTTP.Action.WeightedTargets, v1beta1Targets(namesOf(c), router.Weights{Primary: 100}))

	if err := r.Finalize(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, rt := range mustGet(t, cl, "podinfo.test", &mesh.VirtualService{}).Spec.Routes {
		assertSame(t, rt.Name+" after finalize", rt.HTTP.Action.WeightedTargets, []mesh.WeightedTarget{
			{VirtualNodeName: "podinfo-primary", Weight: 0}, {VirtualNodeName: "podinfo-canary", Weight: 100},
		})
	}
}

func TestV1beta1CleanupDeletesEveryObject(t *testing.T) {
	ctx := context.Background()
	r, cl := reconcileV1beta1(t, seedCanary())
	if err := r.Cleanup(ctx, seedCanary()); err != nil {
		t.Fatal(err)
	}
	for name, obj := range map[string]client.Object{
		"podinfo.test": &mesh.VirtualService{}, "podinfo-canary.test": &mesh.VirtualService{},
		"podinfo": &mesh.VirtualNode{}, "podinfo-primary": &mesh.VirtualNode{}, "podinfo-canary": &mesh.VirtualNode{},
	} {
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); !apierrors.IsNotFound(err) {
			t.Errorf("%T %s: want not found, got %v", obj, name, err)
		}
	}
}

func TestV1beta1ReportsMissingAppMeshKinds(t *testing.T) {
	ctx := context.Background()
	cl := newCluster(t, false)
	r := NewV1beta1(cl, cl.scheme, "global")
	var missing *router.MissingKindError
	if err := r.Reconcile(ctx, seedCanary(), initialWeights); !errors.As(err, &missing) || missing.APIVersion != "appmesh.k8s.aws/v1beta1" {
		t.Errorf("reconcile: want a MissingKindError for appmesh.k8s.aws/v1beta1, got %v", err)
	}
	if _, err := r.GetRoutes(ctx, seedCanary()); !errors.As(err, &missing) || missing.Kind != "VirtualService" {
		t.Errorf("get routes: want a MissingKindError for VirtualService, got %v", err)
	}
	if err := r.Finalize(ctx, seedCanary()); err != nil {
		t.Errorf("finalize: want nothing to restore, got %v", err)
	}
	if err := r.Cleanup(ctx, seedCanary()); err != nil {
		t.Errorf("cleanup: want nothing to delete, got %v", err)
	}
}
