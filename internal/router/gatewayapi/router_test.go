package gatewayapi

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/gitops"
	"github.com/serin-dev/serin/internal/router"
)

func TestReconcileCreatesARouteOwnedByTheCanaryWithAllTrafficOnThePrimary(t *testing.T) {
	ctx := context.Background()
	c := newCanary(withGatewayRef("istio-ingress", "public"), withHosts("app.example.com"), withTimeout("15s"))
	r, cl := newRouter(t)
	if err := r.Reconcile(ctx, c, initialWeights); err != nil {
		t.Fatal(err)
	}
	route := getRoute(t, cl)

	owner := metav1.GetControllerOf(route)
	if owner == nil || owner.Kind != "Canary" || owner.Name != "podinfo" || owner.UID != c.UID {
		t.Errorf("controller %+v, want the Canary podinfo", owner)
	}
	wantParent := gatewayv1.ParentReference{
		Group: ptr.To(gatewayv1.Group("gateway.networking.k8s.io")), Kind: ptr.To(gatewayv1.Kind("Gateway")),
		Namespace: ptr.To(gatewayv1.Namespace("istio-ingress")), Name: "public",
	}
	if len(route.Spec.ParentRefs) != 1 || !equality.Semantic.DeepEqual(route.Spec.ParentRefs[0], wantParent) {
		t.Errorf("parentRefs %+v, want %+v", route.Spec.ParentRefs, wantParent)
	}
	if !slices.Equal(route.Spec.Hostnames, []gatewayv1.Hostname{"app.example.com"}) {
		t.Errorf("hostnames %v", route.Spec.Hostnames)
	}
	if got := ruleWeights(route); !slices.Equal(got, []string{"100/0"}) {
		t.Fatalf("rule weights %v, want one rule 100/0", got)
	}
	rule := route.Spec.Rules[0]
	for i, want := range []string{"podinfo-primary", "podinfo-canary"} {
		b := rule.BackendRefs[i]
		if string(b.Name) != want || ptr.Deref(b.Port, 0) != 9898 || ptr.Deref(b.Kind, "") != "Service" {
			t.Errorf("backendRef %d: %s:%d kind %s, want %s:9898 kind Service", i, b.Name, ptr.Deref(b.Port, 0), ptr.Deref(b.Kind, ""), want)
		}
	}
	if rule.Timeouts == nil || ptr.Deref(rule.Timeouts.Request, "") != "15s" {
		t.Errorf("timeouts %+v, want request 15s", rule.Timeouts)
	}
	if got := ruleMatches(route); !slices.Equal(got, []string{"PathPrefix /"}) {
		t.Errorf("matches %v, want every path", got)
	}
}

// matchCases are the canary match settings and the rules they produce.
var matchCases = map[string]struct {
	opts        []canaryOption // the canary's service and analysis
	wantMatches []string       // each rule's matches, as ruleMatches renders them
	wantWeights []string       // each rule's primary/canary split
}{
	"a canary without match serves every path": {
		wantMatches: []string{"PathPrefix /"},
		wantWeights: []string{"100/0"},
	},
	"a uri prefix becomes a path prefix": {
		opts:        []canaryOption{withURIPrefix("/api")},
		wantMatches: []string{"PathPrefix /api"},
		wantWeights: []string{"100/0"},
	},
	"A/B puts the header rule before a default rule on the primary": {
		opts:        []canaryOption{withABHeaders(map[string]flaggerv1.StringMatch{"x-canary": {Exact: "insider"}})},
		wantMatches: []string{"PathPrefix / & x-canary Exact insider", "PathPrefix /"},
		wantWeights: []string{"100/0", "100/0"},
	},
	"A/B headers combine with the service path": {
		opts: []canaryOption{withURIPrefix("/api"),
			withABHeaders(map[string]flaggerv1.StringMatch{"x-canary": {Regex: "^(insider|beta)$"}})},
		wantMatches: []string{"PathPrefix /api & x-canary RegularExpression ^(insider|beta)$", "PathPrefix /api"},
		wantWeights: []string{"100/0", "100/0"},
	},
	"prefix and suffix header matches become quoted, anchored expressions": {
		opts: []canaryOption{withABHeaders(map[string]flaggerv1.StringMatch{
			"user-agent": {Prefix: "Mozilla/5.0 (X11"},
			"cookie":     {Suffix: "canary=always"},
		})},
		wantMatches: []string{
			`PathPrefix / & cookie RegularExpression ^.*canary=always$ & user-agent RegularExpression ^Mozilla/5\.0 \(X11.*`,
			"PathPrefix /",
		},
		wantWeights: []string{"100/0", "100/0"},
	},
	"each analysis match entry gets its own rule": {
		opts: []canaryOption{
			withABHeaders(map[string]flaggerv1.StringMatch{"x-canary": {Exact: "insider"}}),
			withABHeaders(map[string]flaggerv1.StringMatch{"x-region": {Exact: "eu"}}),
		},
		wantMatches: []string{"PathPrefix / & x-canary Exact insider", "PathPrefix / & x-region Exact eu", "PathPrefix /"},
		wantWeights: []string{"100/0", "100/0", "100/0"},
	},
}

func TestReconcileTurnsMatchesIntoRules(t *testing.T) {
	for name, tc := range matchCases {
		t.Run(name, func(t *testing.T) {
			r, cl := newRouter(t)
			if err := r.Reconcile(context.Background(), newCanary(tc.opts...), initialWeights); err != nil {
				t.Fatal(err)
			}
			route := getRoute(t, cl)
			if got := ruleMatches(route); !slices.Equal(got, tc.wantMatches) {
				t.Errorf("matches\n got %q\nwant %q", got, tc.wantMatches)
			}
			if got := ruleWeights(route); !slices.Equal(got, tc.wantWeights) {
				t.Errorf("weights %v, want %v", got, tc.wantWeights)
			}
		})
	}
}

func TestReconcilingAnUnchangedCanaryWritesNothing(t *testing.T) {
	cases := map[string]struct {
		// edit changes the stored route after the first reconcile, as the
		// API server or another client might.
		edit func(*gatewayv1.HTTPRoute)
	}{
		"the route as the router created it":                   {edit: func(*gatewayv1.HTTPRoute) {}},
		"the route with the API server's defaults spelled out": {edit: spellOutDefaults},
		"the route with the defaults left for the API server":  {edit: leaveOutDefaults},
		"the route after SetRoutes moved matched users to the canary": {edit: func(route *gatewayv1.HTTPRoute) {
			route.Spec.Rules[0].BackendRefs[0].Weight = ptr.To(int32(0))
			route.Spec.Rules[0].BackendRefs[1].Weight = ptr.To(int32(100))
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := newCanary(withGatewayRef("istio-ingress", "public"), withHosts("app.example.com"), withTimeout("15s"),
				withABHeaders(map[string]flaggerv1.StringMatch{"x-canary": {Exact: "insider"}}))
			r, cl := newRouter(t)
			if err := r.Reconcile(ctx, c, initialWeights); err != nil {
				t.Fatal(err)
			}
			route := getRoute(t, cl)
			tc.edit(route)
			if err := cl.Update(ctx, route); err != nil {
				t.Fatal(err)
			}
			stored := getRoute(t, cl)

			if err := r.Reconcile(ctx, c, initialWeights); err != nil {
				t.Fatal(err)
			}
			if got := getRoute(t, cl); got.ResourceVersion != stored.ResourceVersion {
				t.Errorf("resourceVersion %s → %s: the second reconcile wrote\n%+v", stored.ResourceVersion, got.ResourceVersion, got.Spec)
			}
		})
	}
}

// spellOutDefaults sets every field the HTTPRoute schema defaults.
func spellOutDefaults(route *gatewayv1.HTTPRoute) {
	for i := range route.Spec.ParentRefs {
		route.Spec.ParentRefs[i].Group = ptr.To(gatewayv1.Group("gateway.networking.k8s.io"))
		route.Spec.ParentRefs[i].Kind = ptr.To(gatewayv1.Kind("Gateway"))
	}
	for i := range route.Spec.Rules {
		rule := &route.Spec.Rules[i]
		for j := range rule.Matches {
			if rule.Matches[j].Path == nil {
				rule.Matches[j].Path = &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/")}
			}
			for k := range rule.Matches[j].Headers {
				if rule.Matches[j].Headers[k].Type == nil {
					rule.Matches[j].Headers[k].Type = ptr.To(gatewayv1.HeaderMatchExact)
				}
			}
		}
		for j := range rule.BackendRefs {
			rule.BackendRefs[j].Group = ptr.To(gatewayv1.Group(""))
			rule.BackendRefs[j].Kind = ptr.To(gatewayv1.Kind("Service"))
		}
	}
}

// leaveOutDefaults clears the defaulted fields, as a client that relied on
// the API server to fill them would have written them.
func leaveOutDefaults(route *gatewayv1.HTTPRoute) {
	for i := range route.Spec.ParentRefs {
		route.Spec.ParentRefs[i].Group, route.Spec.ParentRefs[i].Kind = nil, nil
	}
	for i := range route.Spec.Rules {
		rule := &route.Spec.Rules[i]
		for j := range rule.Matches {
			if ptr.Deref(rule.Matches[j].Path.Value, "") == "/" {
				rule.Matches[j].Path = nil
			}
			for k := range rule.Matches[j].Headers {
				rule.Matches[j].Headers[k].Type = nil
			}
		}
		for j := range rule.BackendRefs {
			rule.BackendRefs[j].Group, rule.BackendRefs[j].Kind = nil, nil
		}
	}
}

func TestReconcileKeepsTheWeightsAndWhatOthersOwn(t *testing.T) {
	ctx := context.Background()
	r, cl := newRouter(t)
	if err := r.Reconcile(ctx, newCanary(withHosts("old.example.com")), initialWeights); err != nil {
		t.Fatal(err)
	}
	if err := r.SetRoutes(ctx, newCanary(), router.Weights{Primary: 60, Canary: 40}); err != nil {
		t.Fatal(err)
	}
	route := getRoute(t, cl)
	route.Labels = map[string]string{"team": "web"}
	route.Annotations = map[string]string{"gitops/managed": "false"}
	if err := cl.Update(ctx, route); err != nil {
		t.Fatal(err)
	}
	route.Status.Parents = []gatewayv1.RouteParentStatus{{
		ParentRef: gatewayv1.ParentReference{Name: "public"}, ControllerName: "example.com/gateway",
	}}
	if err := cl.Status().Update(ctx, route); err != nil {
		t.Fatal(err)
	}

	if err := r.Reconcile(ctx, newCanary(withHosts("new.example.com")), initialWeights); err != nil {
		t.Fatal(err)
	}
	got := getRoute(t, cl)
	if !slices.Equal(got.Spec.Hostnames, []gatewayv1.Hostname{"new.example.com"}) {
		t.Errorf("hostnames %v, want the canary's new host", got.Spec.Hostnames)
	}
	if w := ruleWeights(got); !slices.Equal(w, []string{"60/40"}) {
		t.Errorf("weights %v, want 60/40 kept", w)
	}
	if got.Labels["team"] != "web" || got.Annotations["gitops/managed"] != "false" || len(got.Status.Parents) != 1 {
		t.Errorf("labels %v, annotations %v, status %+v: want others' fields kept", got.Labels, got.Annotations, got.Status)
	}
}

func TestReconcileRefusesMoreRulesThanAnHTTPRouteHolds(t *testing.T) {
	var opts []canaryOption
	for range maxRules {
		opts = append(opts, withABHeaders(map[string]flaggerv1.StringMatch{"x-canary": {Exact: "insider"}}))
	}
	r, _ := newRouter(t)
	err := r.Reconcile(context.Background(), newCanary(opts...), initialWeights)
	if err == nil || !strings.Contains(err.Error(), "spec.analysis.match") {
		t.Fatalf("error %v, want one naming spec.analysis.match", err)
	}
}

func TestSetRoutesWritesWeightsThatGetRoutesReadsBack(t *testing.T) {
	cases := map[string]struct {
		opts        []canaryOption // the canary's release strategy
		set         router.Weights
		wantWeights []string // each rule's primary/canary split
	}{
		"a weighted canary at 5%": {
			set:         router.Weights{Primary: 95, Canary: 5},
			wantWeights: []string{"95/5"},
		},
		"A/B moves matched users and leaves the default rule on the primary": {
			opts:        []canaryOption{withABHeaders(map[string]flaggerv1.StringMatch{"x-canary": {Exact: "insider"}})},
			set:         router.Weights{Primary: 0, Canary: 100},
			wantWeights: []string{"0/100", "100/0"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := newCanary(tc.opts...)
			r, cl := newRouter(t)
			if err := r.Reconcile(ctx, c, initialWeights); err != nil {
				t.Fatal(err)
			}
			if err := r.SetRoutes(ctx, c, tc.set); err != nil {
				t.Fatal(err)
			}
			if got := ruleWeights(getRoute(t, cl)); !slices.Equal(got, tc.wantWeights) {
				t.Errorf("weights %v, want %v", got, tc.wantWeights)
			}
			got, err := r.GetRoutes(ctx, c)
			if err != nil || got != tc.set {
				t.Errorf("GetRoutes = %+v, %v; want %+v", got, err, tc.set)
			}
		})
	}
}

func TestSetRoutesWithoutARouteFails(t *testing.T) {
	r, _ := newRouter(t)
	err := r.SetRoutes(context.Background(), newCanary(), router.Weights{Primary: 90, Canary: 10})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("error %v, want not found", err)
	}
}

func TestFinalizeSendsAllTrafficToTheCanaryService(t *testing.T) {
	cases := map[string]struct {
		opts        []canaryOption // the canary's release strategy
		noRoute     bool           // Finalize runs before any Reconcile
		wantWeights []string       // each rule's primary/canary split, nil without a route
	}{
		"a weighted canary": {wantWeights: []string{"0/100"}},
		"every rule of an A/B route": {
			opts:        []canaryOption{withABHeaders(map[string]flaggerv1.StringMatch{"x-canary": {Exact: "insider"}})},
			wantWeights: []string{"0/100", "0/100"},
		},
		"a canary without a route has nothing to do": {noRoute: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := newCanary(tc.opts...)
			r, cl := newRouter(t)
			if !tc.noRoute {
				if err := r.Reconcile(ctx, c, initialWeights); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.Finalize(ctx, c); err != nil {
				t.Fatal(err)
			}
			if tc.noRoute {
				return
			}
			if got := ruleWeights(getRoute(t, cl)); !slices.Equal(got, tc.wantWeights) {
				t.Errorf("weights %v, want %v", got, tc.wantWeights)
			}
		})
	}
}

func TestCleanupDeletesTheRouteAndToleratesItsAbsence(t *testing.T) {
	ctx := context.Background()
	c := newCanary()
	r, cl := newRouter(t)
	if err := r.Reconcile(ctx, c, initialWeights); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := r.Cleanup(ctx, c); err != nil {
			t.Fatalf("cleanup %d: %v", i+1, err)
		}
	}
	err := cl.Get(ctx, routeKey(c), &gatewayv1.HTTPRoute{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("get after cleanup: %v, want not found", err)
	}
}

func TestEveryOperationReportsMissingGatewayAPICRDs(t *testing.T) {
	ops := map[string]func(*Router, *flaggerv1.Canary) error{
		"Reconcile": func(r *Router, c *flaggerv1.Canary) error {
			return r.Reconcile(context.Background(), c, initialWeights)
		},
		"SetRoutes": func(r *Router, c *flaggerv1.Canary) error {
			return r.SetRoutes(context.Background(), c, router.Weights{Primary: 90, Canary: 10})
		},
		"GetRoutes": func(r *Router, c *flaggerv1.Canary) error {
			_, err := r.GetRoutes(context.Background(), c)
			return err
		},
		"Finalize": func(r *Router, c *flaggerv1.Canary) error { return r.Finalize(context.Background(), c) },
		"Cleanup":  func(r *Router, c *flaggerv1.Canary) error { return r.Cleanup(context.Background(), c) },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			err := op(newRouterWithoutGatewayAPI(t), newCanary())
			var missing *router.MissingKindError
			if !errors.As(err, &missing) || missing.Kind != "HTTPRoute" || missing.APIVersion != "gateway.networking.k8s.io/v1" {
				t.Fatalf("error %v, want a MissingKindError for HTTPRoute", err)
			}
			if !strings.Contains(err.Error(), "standard-install.yaml") {
				t.Errorf("error %q does not say how to install the CRDs", err)
			}
		})
	}
}

func TestTheRouteCarriesTheFluxMarkersAndGetsThemBackWhenRemoved(t *testing.T) {
	ctx := context.Background()
	r, cl := newRouter(t)
	if err := r.Reconcile(ctx, newCanary(), router.Weights{Primary: 100}); err != nil {
		t.Fatal(err)
	}
	route := getRoute(t, cl)
	if route.Annotations[gitops.KustomizeReconcileKey] != "disabled" || route.Annotations[gitops.HelmDriftDetectionKey] != "disabled" {
		t.Fatalf("annotations %v: want both Flux markers", route.Annotations)
	}
	route.Annotations = nil
	if err := cl.Update(ctx, route); err != nil {
		t.Fatal(err)
	}
	if err := r.Reconcile(ctx, newCanary(), router.Weights{Primary: 100}); err != nil {
		t.Fatal(err)
	}
	if got := getRoute(t, cl).Annotations; got[gitops.KustomizeReconcileKey] != "disabled" || got[gitops.HelmDriftDetectionKey] != "disabled" {
		t.Errorf("annotations %v after a reconcile: want both Flux markers back", got)
	}
}
