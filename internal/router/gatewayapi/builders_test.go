package gatewayapi

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

type canaryOption func(*flaggerv1.Canary)

// newCanary is the podinfo canary of Flagger's tutorials, on port 9898.
func newCanary(opts ...canaryOption) *flaggerv1.Canary {
	c := &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test", UID: types.UID("canary-uid")},
		Spec: flaggerv1.CanarySpec{
			Provider:  "gatewayapi:v1",
			TargetRef: flaggerv1.TargetReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "podinfo"},
			Service:   flaggerv1.CanaryService{Port: 9898},
			Analysis:  &flaggerv1.CanaryAnalysis{Interval: "1m", StepWeight: 5},
		},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func withGatewayRef(namespace, name string) canaryOption {
	return func(c *flaggerv1.Canary) {
		c.Spec.Service.GatewayRefs = append(c.Spec.Service.GatewayRefs,
			flaggerv1.ParentReference{Name: name, Namespace: ptr.To(namespace)})
	}
}

func withHosts(hosts ...string) canaryOption {
	return func(c *flaggerv1.Canary) { c.Spec.Service.Hosts = hosts }
}

func withTimeout(t string) canaryOption {
	return func(c *flaggerv1.Canary) { c.Spec.Service.Timeout = t }
}

func withURIPrefix(prefix string) canaryOption {
	return func(c *flaggerv1.Canary) {
		c.Spec.Service.Match = append(c.Spec.Service.Match,
			flaggerv1.HTTPMatchRequest{URI: &flaggerv1.StringMatch{Prefix: prefix}})
	}
}

// withABHeaders adds an analysis.match entry, which makes the release A/B.
func withABHeaders(headers map[string]flaggerv1.StringMatch) canaryOption {
	return func(c *flaggerv1.Canary) {
		c.Spec.Analysis.StepWeight = 0
		c.Spec.Analysis.Iterations = 10
		c.Spec.Analysis.Match = append(c.Spec.Analysis.Match, flaggerv1.HTTPMatchRequest{Headers: headers})
	}
}

// newScheme knows the Canary and, with gateway, the Gateway API types.
func newScheme(t *testing.T, gateway bool) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	install := []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, flaggerv1.AddToScheme}
	if gateway {
		install = append(install, gatewayv1.Install)
	}
	for _, add := range install {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// newRouter returns the router and its fake client, holding objs.
func newRouter(t *testing.T, objs ...client.Object) (*Router, client.Client) {
	t.Helper()
	s := newScheme(t, true)
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).
		WithStatusSubresource(&gatewayv1.HTTPRoute{}).Build()
	return New(c, s), c
}

// newRouterWithoutGatewayAPI is a router on a cluster without the Gateway
// API CRDs. The fake client reports types missing from its scheme as not
// registered; a real client's REST mapper reports a missing CRD as
// no-kind-match, so the interceptor translates one into the other.
func newRouterWithoutGatewayAPI(t *testing.T) *Router {
	t.Helper()
	s := newScheme(t, false)
	noMatch := func(err error) error {
		if runtime.IsNotRegisteredError(err) {
			return &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: gatewayv1.GroupName, Kind: "HTTPRoute"}, SearchedVersions: []string{"v1"}}
		}
		return err
	}
	funcs := interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			return noMatch(c.Get(ctx, key, obj, opts...))
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			return noMatch(c.Create(ctx, obj, opts...))
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			return noMatch(c.Delete(ctx, obj, opts...))
		},
	}
	return New(interceptor.NewClient(fake.NewClientBuilder().WithScheme(s).Build(), funcs), s)
}

// getRoute reads the canary's HTTPRoute from the fake cluster.
func getRoute(t *testing.T, c client.Client) *gatewayv1.HTTPRoute {
	t.Helper()
	route := &gatewayv1.HTTPRoute{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "test", Name: "podinfo"}, route); err != nil {
		t.Fatalf("get httproute: %v", err)
	}
	return route
}

// ruleWeights renders each rule's backends as "primary/canary" weights,
// e.g. "95/5", so tests compare a route's split at a glance.
func ruleWeights(route *gatewayv1.HTTPRoute) []string {
	var out []string
	for _, r := range route.Spec.Rules {
		w := map[gatewayv1.ObjectName]int32{}
		for _, b := range r.BackendRefs {
			w[b.Name] = ptr.Deref(b.Weight, 1)
		}
		out = append(out, fmt.Sprintf("%d/%d", w["podinfo-primary"], w["podinfo-canary"]))
	}
	return out
}

// ruleMatches renders each rule's matches, e.g.
// "PathPrefix / & x-canary Exact insider", matches of a rule joined by " | ".
func ruleMatches(route *gatewayv1.HTTPRoute) []string {
	var out []string
	for _, r := range route.Spec.Rules {
		var ms []string
		for _, m := range r.Matches {
			parts := []string{string(ptr.Deref(m.Path.Type, "")) + " " + ptr.Deref(m.Path.Value, "")}
			for _, h := range m.Headers {
				parts = append(parts, fmt.Sprintf("%s %s %s", h.Name, ptr.Deref(h.Type, ""), h.Value))
			}
			ms = append(ms, strings.Join(parts, " & "))
		}
		out = append(out, strings.Join(ms, " | "))
	}
	return out
}
