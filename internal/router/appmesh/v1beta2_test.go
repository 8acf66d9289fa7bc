package appmesh

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	mesh "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
)

// reconcileV1beta2 reconciles canary c on a fresh cluster.
func reconcileV1beta2(t *testing.T, c *flaggerv1.Canary) (*V1beta2, cluster) {
	t.Helper()
	cl := newCluster(t, true)
	r := NewV1beta2(cl, cl.scheme)
	if err := r.Reconcile(context.Background(), c, initialWeights); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	return r, cl
}

func vnodeRef(name string) *mesh.VirtualNodeReference { return &mesh.VirtualNodeReference{Name: name} }

// defaultHTTPRoute is the reference route: prefix /, the default retry
// policy, no timeout.
func defaultHTTPRoute(name string, targets ...mesh.WeightedTarget) mesh.Route {
	return mesh.Route{Name: name, HTTPRoute: &mesh.HTTPRoute{
		Match:  mesh.HTTPRouteMatch{Prefix: ptr.To("/")},
		Action: mesh.HTTPRouteAction{WeightedTargets: targets},
		RetryPolicy: &mesh.HTTPRetryPolicy{
			HTTPRetryEvents: []mesh.HTTPRetryPolicyEvent{"gateway-error"},
			MaxRetries:      1,
			PerRetryTimeout: mesh.Duration{Unit: "ms", Value: 250},
		},
	}}
}

func TestV1beta2ReconcileWritesTheReferenceObjects(t *testing.T) {
	_, cl := reconcileV1beta2(t, newCanary())
	http := mesh.PortMapping{Port: 9898, Protocol: "http"}

	for _, node := range []struct{ name, selector string }{{"podinfo-primary", "podinfo-primary"}, {"podinfo-canary", "podinfo"}} {
		vn := mustGet(t, cl, node.name, &mesh.VirtualNode{})
		assertGeneratedByCanary(t, vn)
		assertSame(t, "VirtualNode "+node.name, vn.Spec, mesh.VirtualNodeSpec{
			PodSelector:      &metav1.LabelSelector{MatchLabels: map[string]string{"app": node.selector}},
			Listeners:        []mesh.Listener{{PortMapping: http}},
			ServiceDiscovery: &mesh.ServiceDiscovery{DNS: &mesh.DNSServiceDiscovery{Hostname: node.name + ".test.svc.cluster.local"}},
		})
	}

	apex := mustGet(t, cl, "podinfo", &mesh.VirtualRouter{})
	assertGeneratedByCanary(t, apex)
	assertSame(t, "VirtualRouter podinfo", apex.Spec, mesh.VirtualRouterSpec{
		Listeners: []mesh.VirtualRouterListener{{PortMapping: http}},
		Routes: []mesh.Route{defaultHTTPRoute("podinfo-route",
			mesh.WeightedTarget{VirtualNodeRef: vnodeRef("podinfo-primary"), Weight: 100},
			mesh.WeightedTarget{VirtualNodeRef: vnodeRef("podinfo-canary"), Weight: 0})},
	})
	canary := mustGet(t, cl, "podinfo-canary", &mesh.VirtualRouter{})
	assertGeneratedByCanary(t, canary)
	assertSame(t, "VirtualRouter podinfo-canary", canary.Spec, mesh.VirtualRouterSpec{
		Listeners: []mesh.VirtualRouterListener{{PortMapping: http}},
		Routes: []mesh.Route{defaultHTTPRoute("podinfo-canary-route",
			mesh.WeightedTarget{VirtualNodeRef: vnodeRef("podinfo-canary"), Weight: 100})},
	})

	for _, name := range []string{"podinfo", "podinfo-canary"} {
		vs := mustGet(t, cl, name, &mesh.VirtualService{})
		assertGeneratedByCanary(t, vs)
		assertSame(t, "VirtualService "+name, vs.Spec, mesh.VirtualServiceSpec{
			AWSName: ptr.To(name + ".test"),
			Provider: mesh.VirtualServiceProvider{VirtualRouter: &mesh.VirtualRouterServiceProvider{
				VirtualRouterRef: &mesh.VirtualRouterReference{Name: name},
			}},
		})
	}
}

func TestV1beta2ListenersFollowTheServicePort(t *testing.T) {
	tests := map[string]struct {
		// opts configure the canary's service.
		opts []canaryOption
		// want is the listener of every virtual node and router.
		want mesh.PortMapping
		// wantGRPC says the routes are gRPC routes.
		wantGRPC bool
	}{
		"the service port when no target port is set": {want: mesh.PortMapping{Port: 9898, Protocol: "http"}},
		"a numeric target port": {
			opts: []canaryOption{withTargetPort(intstr.FromInt32(8080))},
			want: mesh.PortMapping{Port: 8080, Protocol: "http"},
		},
		"a named target port looked up in the target's containers": {
			opts: []canaryOption{withTargetPort(intstr.FromString("grpc"))},
			want: mesh.PortMapping{Port: 9999, Protocol: "http"},
		},
		"gRPC for a port named grpc": {
			opts:     []canaryOption{withPortName("grpc-api")},
			want:     mesh.PortMapping{Port: 9898, Protocol: "grpc"},
			wantGRPC: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, cl := reconcileV1beta2(t, newCanary(tc.opts...))
			vn := mustGet(t, cl, "podinfo-primary", &mesh.VirtualNode{})
			assertSame(t, "node listener", vn.Spec.Listeners, []mesh.Listener{{PortMapping: tc.want}})
			vr := mustGet(t, cl, "podinfo", &mesh.VirtualRouter{})
			assertSame(t, "router listener", vr.Spec.Listeners, []mesh.VirtualRouterListener{{PortMapping: tc.want}})
			rt := vr.Spec.Routes[0]
			isGRPC, isHTTP := rt.GRPCRoute != nil && rt.HTTPRoute == nil, rt.HTTPRoute != nil && rt.GRPCRoute == nil
			if (tc.wantGRPC && !isGRPC) || (!tc.wantGRPC && !isHTTP) {
				t.Errorf("route %s: want a gRPC route: %v, got grpcRoute %v, httpRoute %v", rt.Name, tc.wantGRPC, rt.GRPCRoute != nil, rt.HTTPRoute != nil)
			}
		})
	}
}

func TestV1beta2RoutesCarryTheServiceTimeoutRetriesAndPrefix(t *testing.T) {
	defaultRetry := &mesh.HTTPRetryPolicy{HTTPRetryEvents: []mesh.HTTPRetryPolicyEvent{"gateway-error"}, MaxRetries: 1,
		PerRetryTimeout: mesh.Duration{Unit: "ms", Value: 250}}
	tests := map[string]struct {
		// opts configure the canary's service.
		opts []canaryOption
		// wantPrefix, wantTimeout and wantRetry are the weighted route's.
		wantPrefix  string
		wantTimeout *mesh.HTTPTimeout
		wantRetry   *mesh.HTTPRetryPolicy
	}{
		"defaults": {wantPrefix: "/", wantRetry: defaultRetry},
		"a timeout in whole seconds": {
			opts:        []canaryOption{withTimeout("30s")},
			wantPrefix:  "/",
			wantTimeout: &mesh.HTTPTimeout{PerRequest: &mesh.Duration{Unit: "s", Value: 30}},
			wantRetry:   defaultRetry,
		},
		"a timeout in milliseconds": {
			opts:        []canaryOption{withTimeout("1500ms")},
			wantPrefix:  "/",
			wantTimeout: &mesh.HTTPTimeout{PerRequest: &mesh.Duration{Unit: "ms", Value: 1500}},
			wantRetry:   defaultRetry,
		},
		"retries with Envoy event names": {
			opts:       []canaryOption{withRetries(flaggerv1.HTTPRetry{Attempts: 3, PerTryTimeout: "5s", RetryOn: "5xx, connect-failure,bogus"})},
			wantPrefix: "/",
			wantRetry: &mesh.HTTPRetryPolicy{HTTPRetryEvents: []mesh.HTTPRetryPolicyEvent{"server-error"},
				TCPRetryEvents: []mesh.TCPRetryPolicyEvent{"connection-error"}, MaxRetries: 3, PerRetryTimeout: mesh.Duration{Unit: "s", Value: 5}},
		},
		"retries without events or per-try timeout": {
			opts:       []canaryOption{withRetries(flaggerv1.HTTPRetry{Attempts: 2})},
			wantPrefix: "/",
			wantRetry: &mesh.HTTPRetryPolicy{HTTPRetryEvents: []mesh.HTTPRetryPolicyEvent{"gateway-error"}, MaxRetries: 2,
				PerRetryTimeout: mesh.Duration{Unit: "ms", Value: 250}},
		},
		"the first service match's URI prefix": {
			opts:       []canaryOption{withURIPrefix("/api")},
			wantPrefix: "/api",
			wantRetry:  defaultRetry,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, cl := reconcileV1beta2(t, newCanary(tc.opts...))
			for _, router := range []string{"podinfo", "podinfo-canary"} {
				route := mustGet(t, cl, router, &mesh.VirtualRouter{}).Spec.Routes[0].HTTPRoute
				assertSame(t, router+" prefix", route.Match.Prefix, &tc.wantPrefix)
				assertSame(t, router+" timeout", route.Timeout, tc.wantTimeout)
				assertSame(t, router+" retry policy", route.RetryPolicy, tc.wantRetry)
			}
		})
	}
}

func TestV1beta2BackendsAreARNsOrVirtualServiceReferences(t *testing.T) {
	arn := "arn:aws:appmesh:eu-west-1:123456789012:mesh/global/virtualService/backend.prod"
	_, cl := reconcileV1beta2(t, newCanary(withBackends("backend1", "backend2.other", arn)))
	want := []mesh.Backend{
		{VirtualService: mesh.VirtualServiceBackend{VirtualServiceRef: &mesh.VirtualServiceReference{Name: "backend1"}}},
		{VirtualService: mesh.VirtualServiceBackend{VirtualServiceRef: &mesh.VirtualServiceReference{Name: "backend2", Namespace: ptr.To("other")}}},
		{VirtualService: mesh.VirtualServiceBackend{VirtualServiceARN: ptr.To(arn)}},
	}
	for _, name := range []string{"podinfo-primary", "podinfo-canary"} {
		assertSame(t, name+" backends", mustGet(t, cl, name, &mesh.VirtualNode{}).Spec.Backends, want)
	}
}

func TestV1beta2SelectsPodsByTheFirstSelectorLabelPresent(t *testing.T) {
	ctx := context.Background()
	cl := newCluster(t, true)
	d := newDeployment()
	d.Spec.Selector.MatchLabels = map[string]string{"app.kubernetes.io/name": "podinfo-web"}
	if err := cl.Update(ctx, d); err != nil {
		t.Fatal(err)
	}
	r := NewV1beta2(cl, cl.scheme)
	if err := r.Reconcile(ctx, newCanary(), initialWeights); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, cl, "podinfo-primary", &mesh.VirtualNode{}).Spec.PodSelector.MatchLabels
	assertSame(t, "primary selector", got, map[string]string{"app.kubernetes.io/name": "podinfo-web-primary"})

	r.SelectorLabels = []string{"team"}
	if err := r.Reconcile(ctx, newCanary(), initialWeights); err == nil {
		t.Error("reconcile with a selector label the target lacks: want an error, got none")
	}
}

func TestV1beta2SetRoutesIsReadBackByGetRoutes(t *testing.T) {
	ctx := context.Background()
	r, _ := reconcileV1beta2(t, newCanary())
	c := newCanary()
	if w, err := r.GetRoutes(ctx, c); err != nil || w != (router.Weights{Primary: 100}) {
		t.Fatalf("initial weights: got %+v, %v; want 100/0", w, err)
	}
	if err := r.SetRoutes(ctx, c, router.Weights{Primary: 95, Canary: 5}); err != nil {
		t.Fatal(err)
	}
	if w, err := r.GetRoutes(ctx, c); err != nil || w != (router.Weights{Primary: 95, Canary: 5}) {
		t.Errorf("after SetRoutes(95/5): got %+v, %v", w, err)
	}
}

func TestV1beta2ReconcilingTwiceWritesNothing(t *testing.T) {
	ctx := context.Background()
	r, cl := reconcileV1beta2(t, newCanary(withTimeout("10s"), withBackends("b"), withHeader("x-canary", flaggerv1.StringMatch{Exact: "insider"})))
	before := mustGet(t, cl, "podinfo", &mesh.VirtualRouter{}).ResourceVersion
	writes := cl.writes.Load()
	if err := r.Reconcile(ctx, newCanary(withTimeout("10s"), withBackends("b"), withHeader("x-canary", flaggerv1.StringMatch{Exact: "insider"})), initialWeights); err != nil {
		t.Fatal(err)
	}
	if n := cl.writes.Load() - writes; n != 0 {
		t.Errorf("second reconcile made %d writes, want none", n)
	}
	if after := mustGet(t, cl, "podinfo", &mesh.VirtualRouter{}).ResourceVersion; after != before {
		t.Errorf("resourceVersion changed from %s to %s", before, after)
	}
}

func TestV1beta2ReconcileKeepsTheWeightsOnTheRouter(t *testing.T) {
	ctx := context.Background()
	r, _ := reconcileV1beta2(t, newCanary())
	if err := r.SetRoutes(ctx, newCanary(), router.Weights{Primary: 60, Canary: 40}); err != nil {
		t.Fatal(err)
	}
	// A spec change rewrites the routes, but not their split.
	if err := r.Reconcile(ctx, newCanary(withTimeout("3s")), initialWeights); err != nil {
		t.Fatal(err)
	}
	if w, err := r.GetRoutes(ctx, newCanary()); err != nil || w != (router.Weights{Primary: 60, Canary: 40}) {
		t.Errorf("weights after reconcile: got %+v, %v; want 60/40", w, err)
	}
}

func TestV1beta2GRPCRoutesMatchHeadersAsMetadata(t *testing.T) {
	c := newCanary(withPortName("grpc"), withTimeout("2s"), withHeader("x-canary", flaggerv1.StringMatch{Exact: "1"}),
		withRetries(flaggerv1.HTTPRetry{Attempts: 2, RetryOn: "unavailable,cancelled"}))
	_, cl := reconcileV1beta2(t, c)
	rt := mustGet(t, cl, "podinfo", &mesh.VirtualRouter{}).Spec.Routes[0].GRPCRoute
	if rt == nil {
		t.Fatal("want a gRPC route")
	}
	assertSame(t, "match", rt.Match, mesh.GRPCRouteMatch{Metadata: []mesh.GRPCRouteMetadata{
		{Name: "x-canary", Match: &mesh.HeaderMatchMethod{Exact: ptr.To("1")}},
	}})
	assertSame(t, "retry policy", rt.RetryPolicy, &mesh.GRPCRetryPolicy{
		GRPCRetryEvents: []mesh.GRPCRetryPolicyEvent{"unavailable", "cancelled"},
		MaxRetries:      2,
		PerRetryTimeout: mesh.Duration{Unit: "ms", Value: 250},
	})
	assertSame(t, "timeout", rt.Timeout, &mesh.GRPCTimeout{PerRequest: &mesh.Duration{Unit: "s", Value: 2}})
}
