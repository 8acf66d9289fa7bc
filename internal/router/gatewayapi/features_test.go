package gatewayapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
)

// The route settings Flagger's Gateway API router honours, as rules: the
// expected rules are written as the API server stores them (defaults
// spelled out), with COOKIE and PRIMARY standing for the cookie values.
func TestTheRouteCarriesTheCanarysSettings(t *testing.T) {
	cases := map[string]struct {
		// canary configures the canary.
		canary []canaryOption
		// weights are written with SetRoutes.
		weights router.Weights
		// want are the route's rules.
		want string
	}{
		"headers, rewrite, CORS and both timeouts on the weighted rule": {
			canary: []canaryOption{withTimeout("15s"), func(c *flaggerv1.Canary) {
				s := &c.Spec.Service
				s.BackendTimeout = "5s"
				s.Headers = rawJSON(`{"request":{"set":{"x-version":"canary"},"remove":["x-debug"]},"response":{"add":{"x-served-by":"podinfo"}}}`)
				s.Rewrite = &flaggerv1.HTTPRewrite{URI: "/v2", Authority: "podinfo.internal", Type: "ReplacePrefixMatch"}
				s.CorsPolicy = rawJSON(`{"allowOrigins":[{"exact":"https://app.example.com"}],"allowMethods":["GET","POST"],"allowHeaders":["x-user"],"exposeHeaders":["x-served-by"],"maxAge":"24h","allowCredentials":true}`)
			}},
			weights: router.Weights{Primary: 90, Canary: 10},
			want: `- backendRefs:
  - group: ""
    kind: Service
    name: podinfo-primary
    port: 9898
    weight: 90
  - group: ""
    kind: Service
    name: podinfo-canary
    port: 9898
    weight: 10
  filters:
  - requestHeaderModifier:
      remove:
      - x-debug
      set:
      - name: x-version
        value: canary
    type: RequestHeaderModifier
  - responseHeaderModifier:
      add:
      - name: x-served-by
        value: podinfo
    type: ResponseHeaderModifier
  - type: URLRewrite
    urlRewrite:
      hostname: podinfo.internal
      path:
        replacePrefixMatch: /v2
        type: ReplacePrefixMatch
  - cors:
      allowCredentials: true
      allowHeaders:
      - x-user
      allowMethods:
      - GET
      - POST
      allowOrigins:
      - https://app.example.com
      exposeHeaders:
      - x-served-by
      maxAge: 86400
    type: CORS
  matches:
  - path:
      type: PathPrefix
      value: /
  timeouts:
    backendRequest: 5s
    request: 15s
`,
		},
		"a mirrored blue/green release copies mirrorWeight percent of the requests to the canary": {
			canary: []canaryOption{func(c *flaggerv1.Canary) {
				a := c.Spec.Analysis
				a.StepWeight, a.Iterations, a.Mirror, a.MirrorWeight = 0, 5, true, 30
			}},
			weights: router.Weights{Primary: 100, Mirrored: true},
			want: `- backendRefs:
  - group: ""
    kind: Service
    name: podinfo-primary
    port: 9898
    weight: 100
  - group: ""
    kind: Service
    name: podinfo-canary
    port: 9898
    weight: 0
  filters:
  - requestMirror:
      backendRef:
        group: ""
        kind: Service
        name: podinfo-canary
        port: 9898
      percent: 30
    type: RequestMirror
  matches:
  - path:
      type: PathPrefix
      value: /
`,
		},
		"session affinity while the canary has weight": {
			canary:  []canaryOption{withAffinity(flaggerv1.SessionAffinity{CookieName: "canary", PrimaryCookieName: "primary", MaxAge: 600, Secure: true})},
			weights: router.Weights{Primary: 80, Canary: 20},
			want: `- backendRefs:
  - group: ""
    kind: Service
    name: podinfo-primary
    port: 9898
    weight: 0
  - group: ""
    kind: Service
    name: podinfo-canary
    port: 9898
    weight: 100
  matches:
  - headers:
    - name: Cookie
      type: RegularExpression
      value: (.*; ?)?canary=COOKIE(;.*)?
    path:
      type: PathPrefix
      value: /
- backendRefs:
  - group: ""
    kind: Service
    name: podinfo-primary
    port: 9898
    weight: 100
  - group: ""
    kind: Service
    name: podinfo-canary
    port: 9898
    weight: 0
  matches:
  - headers:
    - name: Cookie
      type: RegularExpression
      value: (.*; ?)?primary=PRIMARY(;.*)?
    path:
      type: PathPrefix
      value: /
- backendRefs:
  - filters:
    - responseHeaderModifier:
        add:
        - name: Set-Cookie
          value: primary=PRIMARY; Max-Age=60; Secure
      type: ResponseHeaderModifier
    group: ""
    kind: Service
    name: podinfo-primary
    port: 9898
    weight: 80
  - filters:
    - responseHeaderModifier:
        add:
        - name: Set-Cookie
          value: canary=COOKIE; Max-Age=600; Secure
      type: ResponseHeaderModifier
    group: ""
    kind: Service
    name: podinfo-canary
    port: 9898
    weight: 20
  matches:
  - path:
      type: PathPrefix
      value: /
`,
		},
		"session affinity after the analysis expires the canary cookie": {
			canary:  []canaryOption{withAffinity(flaggerv1.SessionAffinity{CookieName: "canary"})},
			weights: router.Weights{Primary: 100},
			want: `- backendRefs:
  - group: ""
    kind: Service
    name: podinfo-primary
    port: 9898
    weight: 100
  - group: ""
    kind: Service
    name: podinfo-canary
    port: 9898
    weight: 0
  filters:
  - responseHeaderModifier:
      add:
      - name: Set-Cookie
        value: canary=COOKIE; Max-Age=-1
    type: ResponseHeaderModifier
  matches:
  - headers:
    - name: Cookie
      type: RegularExpression
      value: (.*; ?)?canary=COOKIE(;.*)?
    path:
      type: PathPrefix
      value: /
- backendRefs:
  - group: ""
    kind: Service
    name: podinfo-primary
    port: 9898
    weight: 100
  - group: ""
    kind: Service
    name: podinfo-canary
    port: 9898
    weight: 0
  matches:
  - path:
      type: PathPrefix
      value: /
`,
		},
		"query parameters of an A/B match": {
			canary: []canaryOption{func(c *flaggerv1.Canary) {
				a := c.Spec.Analysis
				a.StepWeight, a.Iterations = 0, 5
				a.Match = []flaggerv1.HTTPMatchRequest{{QueryParams: map[string]flaggerv1.StringMatch{"beta": {Exact: "on"}}}}
			}},
			weights: router.Weights{Canary: 100},
			want: `- backendRefs:
  - group: ""
    kind: Service
    name: podinfo-primary
    port: 9898
    weight: 0
  - group: ""
    kind: Service
    name: podinfo-canary
    port: 9898
    weight: 100
  matches:
  - path:
      type: PathPrefix
      value: /
    queryParams:
    - name: beta
      type: Exact
      value: "on"
- backendRefs:
  - group: ""
    kind: Service
    name: podinfo-primary
    port: 9898
    weight: 100
  - group: ""
    kind: Service
    name: podinfo-canary
    port: 9898
    weight: 0
  matches:
  - path:
      type: PathPrefix
      value: /
`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r, cl := newRouter(t)
			c := newCanary(tc.canary...)
			c.Status.LastAppliedSpec = "revision-1"
			ctx := context.Background()
			if err := r.Reconcile(ctx, c, initialWeights); err != nil {
				t.Fatal(err)
			}
			if err := r.SetRoutes(ctx, c, tc.weights); err != nil {
				t.Fatal(err)
			}
			if got, err := r.GetRoutes(ctx, c); err != nil || got != tc.weights {
				t.Errorf("GetRoutes = %+v, %v; want %+v", got, err, tc.weights)
			}
			route := getRoute(t, cl)
			spellOutDefaults(route)
			want := tc.want
			if a := router.AffinityOf(c); a != nil {
				_, canary, _ := strings.Cut(a.Canary, "=")
				_, primary, _ := strings.Cut(a.Primary, "=")
				want = strings.NewReplacer("COOKIE", canary, "PRIMARY", primary).Replace(want)
			}
			if got := toYAML(t, route.Spec.Rules); got != want {
				t.Errorf("rules:\n%s\nwant:\n%s", got, want)
			}
			before := route.ResourceVersion
			if err := r.Reconcile(ctx, c, initialWeights); err != nil {
				t.Fatal(err)
			}
			if after := getRoute(t, cl).ResourceVersion; after != before {
				t.Errorf("a second reconcile wrote the route (resourceVersion %s -> %s)", before, after)
			}
		})
	}
}

// Rules and filters someone else added to the route, and the apex
// metadata, survive a reconcile and a change of weights; the canary's own
// filters follow its spec.
func TestOthersRulesAndFiltersAreKept(t *testing.T) {
	r, cl := newRouter(t)
	c := newCanary(func(c *flaggerv1.Canary) {
		c.Spec.Service.Apex = &flaggerv1.CustomMetadata{Labels: map[string]string{"team": "web"}, Annotations: map[string]string{"owner": "web@example.com"}}
		c.Spec.Service.Headers = rawJSON(`{"request":{"set":{"x-version":"canary"}}}`)
	})
	ctx := context.Background()
	if err := r.Reconcile(ctx, c, initialWeights); err != nil {
		t.Fatal(err)
	}
	route := getRoute(t, cl)
	if route.Labels["team"] != "web" || route.Annotations["owner"] != "web@example.com" {
		t.Errorf("labels %v annotations %v, want spec.service.apex's", route.Labels, route.Annotations)
	}
	auth := gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterExtensionRef, ExtensionRef: &gatewayv1.LocalObjectReference{Group: "auth.example.com", Kind: "Policy", Name: "sso"}}
	status := gatewayv1.HTTPRouteRule{
		Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchExact), Value: ptr.To("/status")}}},
		BackendRefs: []gatewayv1.HTTPBackendRef{backendRef("status-page", 80, 1)},
	}
	patch := client.MergeFrom(route.DeepCopy())
	route.Spec.Rules[0].Filters = append(route.Spec.Rules[0].Filters, auth)
	route.Spec.Rules = append(route.Spec.Rules, status)
	route.Labels["by-hand"] = "yes"
	if err := cl.Patch(ctx, route, patch); err != nil {
		t.Fatal(err)
	}

	c.Spec.Service.Headers = nil
	if err := r.Reconcile(ctx, c, initialWeights); err != nil {
		t.Fatal(err)
	}
	if err := r.SetRoutes(ctx, c, router.Weights{Primary: 70, Canary: 30}); err != nil {
		t.Fatal(err)
	}
	route = getRoute(t, cl)
	if len(route.Spec.Rules) != 2 || string(route.Spec.Rules[1].BackendRefs[0].Name) != "status-page" {
		t.Fatalf("rules %s, want the canary's rule and the status-page rule", toYAML(t, route.Spec.Rules))
	}
	if f := route.Spec.Rules[0].Filters; len(f) != 1 || f[0].Type != gatewayv1.HTTPRouteFilterExtensionRef {
		t.Errorf("filters of the canary's rule %s, want only the ExtensionRef someone added (the header filter went with spec.service.headers)", toYAML(t, f))
	}
	if w, _ := r.GetRoutes(ctx, c); w != (router.Weights{Primary: 70, Canary: 30}) {
		t.Errorf("weights %+v, want 70/30", w)
	}
	if route.Labels["by-hand"] != "yes" || route.Labels["team"] != "web" {
		t.Errorf("labels %v, want the hand-made one kept", route.Labels)
	}
}

// What the Gateway API CORS filter cannot say is refused by name, and a
// cluster whose HTTPRoute CRD lacks the filter is reported in the words
// of the canary field.
func TestCORSPoliciesGatewayAPICannotTakeAreRefused(t *testing.T) {
	cases := map[string]struct {
		// policy is spec.service.corsPolicy.
		policy string
		// want is in the error.
		want string
	}{
		"a prefix origin": {
			policy: `{"allowOrigins":[{"prefix":"https://"}]}`,
			want:   "spec.service.corsPolicy.allowOrigins[0] is not supported by provider gatewayapi:v1: Gateway API CORS origins are exact",
		},
		"unmatched preflights": {
			policy: `{"allowOrigins":[{"exact":"https://a.io"}],"unmatchedPreflights":"IGNORE"}`,
			want:   "spec.service.corsPolicy.unmatchedPreflights is not supported by provider gatewayapi:v1",
		},
		"a misspelt field": {policy: `{"allowOrigin":["https://a.io"],"allowMethod":["GET"]}`, want: `unknown field "allowMethod"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r, _ := newRouter(t)
			err := r.Reconcile(context.Background(), newCanary(func(c *flaggerv1.Canary) { c.Spec.Service.CorsPolicy = rawJSON(tc.policy) }), initialWeights)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}

	s := newScheme(t, true)
	oldCRD := func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
		return apierrors.NewInvalid(schema.GroupKind{Group: gatewayv1.GroupName, Kind: "HTTPRoute"}, "podinfo", field.ErrorList{
			field.NotSupported(field.NewPath("spec", "rules").Index(0).Child("filters").Index(0).Child("type"), "CORS", []string{"RequestHeaderModifier", "URLRewrite"}),
		})
	}
	cl := interceptor.NewClient(fake.NewClientBuilder().WithScheme(s).Build(), interceptor.Funcs{Create: oldCRD})
	err := New(cl, s).Reconcile(context.Background(), newCanary(func(c *flaggerv1.Canary) {
		c.Spec.Service.CorsPolicy = rawJSON(`{"allowOrigin":["https://a.io"]}`)
	}), initialWeights)
	var unsupported *router.UnsupportedFieldError
	if !errors.As(err, &unsupported) || !strings.Contains(err.Error(), "spec.service.corsPolicy is not supported by provider gatewayapi:v1: the HTTPRoute CRD installed in the cluster has no CORS filter") {
		t.Errorf("error %v, want an UnsupportedFieldError naming spec.service.corsPolicy", err)
	}
}

func withAffinity(a flaggerv1.SessionAffinity) canaryOption {
	return func(c *flaggerv1.Canary) { c.Spec.Analysis.SessionAffinity = &a }
}

func rawJSON(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }

func toYAML(t *testing.T, v any) string {
	t.Helper()
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.JSONToYAML(j)
	if err != nil {
		t.Fatal(err)
	}
	return string(y)
}
