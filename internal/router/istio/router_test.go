package istio

import (
	"context"
	"errors"
	"strings"
	"testing"

	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
)

func TestReconcileCreatesTheVirtualServiceAndDestinationRulesOwnedByTheCanary(t *testing.T) {
	r, cl := newRouter(t)
	c := newCanary(withService(func(s *flaggerv1.CanaryService) {
		s.TrafficPolicy = rawJSON(t, "tls: {mode: ISTIO_MUTUAL}")
	}))
	if err := r.Reconcile(context.Background(), c, router.Weights{Primary: 100}); err != nil {
		t.Fatal(err)
	}
	vs := getVirtualService(t, cl)
	if !metav1.IsControlledBy(vs, c) {
		t.Errorf("the VirtualService is not controlled by the canary: %+v", vs.OwnerReferences)
	}
	want := `gateways:
- mesh
hosts:
- podinfo
http:
- route:
  - destination:
      host: podinfo-primary
    weight: 100
  - destination:
      host: podinfo-canary
`
	if got := specYAML(t, &vs.Spec); got != want {
		t.Errorf("VirtualService spec:\n%s\nwant:\n%s", got, want)
	}
	for _, name := range []string{"podinfo-primary", "podinfo-canary"} {
		dr := &istiov1beta1.DestinationRule{}
		if err := cl.Get(context.Background(), client.ObjectKey{Namespace: "test", Name: name}, dr); err != nil {
			t.Fatal(err)
		}
		if !metav1.IsControlledBy(dr, c) {
			t.Errorf("DestinationRule %s is not controlled by the canary", name)
		}
		if got, want := specYAML(t, &dr.Spec), "host: "+name+"\ntrafficPolicy:\n  tls:\n    mode: ISTIO_MUTUAL\n"; got != want {
			t.Errorf("DestinationRule %s spec:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

// The VirtualService shapes of Flagger's Istio router, per release setting.
func TestVirtualServiceShapes(t *testing.T) {
	cases := map[string]struct {
		// canary is the canary's settings.
		canary []canaryOption
		// weights are written with SetRoutes.
		weights router.Weights
		// want is the VirtualService spec.
		want string
	}{
		"weighted canary with every route setting": {
			canary: []canaryOption{withService(func(s *flaggerv1.CanaryService) {
				s.Hosts = []string{"app.example.com"}
				s.Gateways = []string{"public-gateway.istio-system.svc.cluster.local"}
				s.Timeout = "30s"
				s.Retries = &flaggerv1.HTTPRetry{Attempts: 3, PerTryTimeout: "1s", RetryOn: "gateway-error,connect-failure"}
				s.Match = []flaggerv1.HTTPMatchRequest{{URI: &flaggerv1.StringMatch{Prefix: "/api"}}}
				s.Rewrite = &flaggerv1.HTTPRewrite{URI: "/"}
				s.Headers = rawJSON(t, "request: {add: {x-envoy-upstream-rq-timeout-ms: '15000'}}\nresponse: {remove: [x-powered-by]}")
				s.CorsPolicy = rawJSON(t, "allowOrigins: [{exact: 'https://example.com'}]\nallowMethods: [GET]\nmaxAge: 24h")
			})},
			weights: router.Weights{Primary: 90, Canary: 10},
			want: `gateways:
- public-gateway.istio-system.svc.cluster.local
hosts:
- app.example.com
- podinfo
http:
- corsPolicy:
    allowMethods:
    - GET
    allowOrigins:
    - exact: https://example.com
    maxAge: 86400s
  headers:
    request:
      add:
        x-envoy-upstream-rq-timeout-ms: "15000"
    response:
      remove:
      - x-powered-by
  match:
  - uri:
      prefix: /api
  retries:
    attempts: 3
    perTryTimeout: 1s
    retryOn: gateway-error,connect-failure
  rewrite:
    uri: /
  route:
  - destination:
      host: podinfo-primary
    weight: 90
  - destination:
      host: podinfo-canary
    weight: 10
  timeout: 30s
`,
		},
		"A/B test: the matched requests carry the weights, the rest stay on the primary": {
			canary: []canaryOption{
				withService(func(s *flaggerv1.CanaryService) {
					s.Match = []flaggerv1.HTTPMatchRequest{{URI: &flaggerv1.StringMatch{Prefix: "/"}}}
				}),
				withAnalysis(func(a *flaggerv1.CanaryAnalysis) {
					a.StepWeight, a.Iterations = 0, 10
					a.Match = []flaggerv1.HTTPMatchRequest{
						{Headers: map[string]flaggerv1.StringMatch{"x-canary": {Exact: "insider"}}},
						{Headers: map[string]flaggerv1.StringMatch{"cookie": {Regex: "^(.*?;)?(canary=always)(;.*)?$"}}},
						{QueryParams: map[string]flaggerv1.StringMatch{"canary": {Exact: "true"}}, SourceLabels: map[string]string{"app": "frontend"}},
					}
				}),
			},
			weights: router.Weights{Primary: 0, Canary: 100},
			want: `gateways:
- mesh
hosts:
- podinfo
http:
- match:
  - headers:
      x-canary:
        exact: insider
    uri:
      prefix: /
  - headers:
      cookie:
        regex: ^(.*?;)?(canary=always)(;.*)?$
    uri:
      prefix: /
  - queryParams:
      canary:
        exact: "true"
    sourceLabels:
      app: frontend
    uri:
      prefix: /
  route:
  - destination:
      host: podinfo-primary
  - destination:
      host: podinfo-canary
    weight: 100
- match:
  - uri:
      prefix: /
  route:
  - destination:
      host: podinfo-primary
    weight: 100
`,
		},
		"mirroring: a copy of mirrorWeight percent of the requests goes to the canary": {
			canary:  []canaryOption{withAnalysis(func(a *flaggerv1.CanaryAnalysis) { a.Mirror, a.MirrorWeight = true, 50 })},
			weights: router.Weights{Primary: 100, Mirrored: true},
			want: `gateways:
- mesh
hosts:
- podinfo
http:
- mirror:
    host: podinfo-canary
  mirrorPercentage:
    value: 50
  route:
  - destination:
      host: podinfo-primary
    weight: 100
  - destination:
      host: podinfo-canary
`,
		},
		"session affinity while the canary has weight": {
			canary: []canaryOption{withAnalysis(func(a *flaggerv1.CanaryAnalysis) {
				a.SessionAffinity = &flaggerv1.SessionAffinity{CookieName: "flagger-cookie", MaxAge: 21600}
			})},
			weights: router.Weights{Primary: 80, Canary: 20},
			want: `gateways:
- mesh
hosts:
- podinfo
http:
- match:
  - headers:
      Cookie:
        regex: (.*; ?)?flagger-cookie=COOKIE(;.*)?
  route:
  - destination:
      host: podinfo-primary
  - destination:
      host: podinfo-canary
    weight: 100
- route:
  - destination:
      host: podinfo-primary
    weight: 80
  - destination:
      host: podinfo-canary
    headers:
      response:
        add:
          Set-Cookie: flagger-cookie=COOKIE; Max-Age=21600
    weight: 20
`,
		},
		"session affinity with a primary cookie and the cookie's attributes": {
			canary: []canaryOption{withAnalysis(func(a *flaggerv1.CanaryAnalysis) {
				a.SessionAffinity = &flaggerv1.SessionAffinity{CookieName: "flagger-cookie", PrimaryCookieName: "flagger-primary",
					Domain: "example.com", Path: "/app", HttpOnly: true, Secure: true, SameSite: "Strict", Partitioned: true}
			})},
			weights: router.Weights{Primary: 90, Canary: 10},
			want: `gateways:
- mesh
hosts:
- podinfo
http:
- match:
  - headers:
      Cookie:
        regex: (.*; ?)?flagger-cookie=COOKIE(;.*)?
  route:
  - destination:
      host: podinfo-primary
  - destination:
      host: podinfo-canary
    weight: 100
- match:
  - headers:
      Cookie:
        regex: (.*; ?)?flagger-primary=PRIMARY(;.*)?
  route:
  - destination:
      host: podinfo-primary
    weight: 100
  - destination:
      host: podinfo-canary
- route:
  - destination:
      host: podinfo-primary
    headers:
      response:
        add:
          Set-Cookie: flagger-primary=PRIMARY; Max-Age=60; Domain=example.com;
            HttpOnly; Partitioned; Path=/app; SameSite=Strict; Secure
    weight: 90
  - destination:
      host: podinfo-canary
    headers:
      response:
        add:
          Set-Cookie: flagger-cookie=COOKIE; Max-Age=86400; Domain=example.com;
            HttpOnly; Partitioned; Path=/app; SameSite=Strict; Secure
    weight: 10
`,
		},
		"session affinity after the analysis expires the cookie": {
			canary: []canaryOption{withAnalysis(func(a *flaggerv1.CanaryAnalysis) {
				a.SessionAffinity = &flaggerv1.SessionAffinity{CookieName: "flagger-cookie"}
			})},
			weights: router.Weights{Primary: 100},
			want: `gateways:
- mesh
hosts:
- podinfo
http:
- headers:
    response:
      add:
        Set-Cookie: flagger-cookie=COOKIE; Max-Age=-1
  match:
  - headers:
      Cookie:
        regex: (.*; ?)?flagger-cookie=COOKIE(;.*)?
  route:
  - destination:
      host: podinfo-primary
    weight: 100
  - destination:
      host: podinfo-canary
- route:
  - destination:
      host: podinfo-primary
    weight: 100
  - destination:
      host: podinfo-canary
`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r, cl := newRouter(t)
			c := newCanary(tc.canary...)
			ctx := context.Background()
			if err := r.Reconcile(ctx, c, router.Weights{Primary: 100}); err != nil {
				t.Fatal(err)
			}
			if err := r.SetRoutes(ctx, c, tc.weights); err != nil {
				t.Fatal(err)
			}
			if got, err := r.GetRoutes(ctx, c); err != nil || got != tc.weights {
				t.Errorf("GetRoutes = %+v, %v; want %+v", got, err, tc.weights)
			}
			vs := getVirtualService(t, cl)
			want := tc.want
			if a := router.AffinityOf(c); a != nil {
				_, canary, _ := strings.Cut(a.Canary, "=")
				_, primary, _ := strings.Cut(a.Primary, "=")
				want = strings.NewReplacer("PRIMARY", primary, "COOKIE", canary).Replace(want)
			}
			if got := specYAML(t, &vs.Spec); got != want {
				t.Errorf("VirtualService spec:\n%s\nwant:\n%s", got, want)
			}
			before := vs.ResourceVersion
			if err := r.Reconcile(ctx, c, router.Weights{Primary: 100}); err != nil {
				t.Fatal(err)
			}
			if after := getVirtualService(t, cl).ResourceVersion; after != before {
				t.Errorf("a second reconcile wrote the VirtualService (resourceVersion %s -> %s)", before, after)
			}
		})
	}
}

func TestReconcileKeepsTheWeightsAndMirroring(t *testing.T) {
	r, cl := newRouter(t)
	c := newCanary(withAnalysis(func(a *flaggerv1.CanaryAnalysis) { a.Mirror = true }))
	ctx := context.Background()
	if err := r.Reconcile(ctx, c, router.Weights{Primary: 100}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetRoutes(ctx, c, router.Weights{Primary: 100, Mirrored: true}); err != nil {
		t.Fatal(err)
	}
	c.Spec.Service.Timeout = "5s"
	if err := r.Reconcile(ctx, c, router.Weights{Primary: 100}); err != nil {
		t.Fatal(err)
	}
	vs := getVirtualService(t, cl)
	h := vs.Spec.Http[0]
	if h.GetTimeout().AsDuration().String() != "5s" || h.GetMirror().GetHost() != "podinfo-canary" || h.Route[0].Weight != 100 {
		t.Errorf("after a spec change the route is %v, want the new timeout with the mirror kept", h)
	}
}

func TestFinalizeSendsEveryRouteToTheCanaryService(t *testing.T) {
	r, cl := newRouter(t)
	c := newCanary(withAnalysis(func(a *flaggerv1.CanaryAnalysis) {
		a.StepWeight, a.Iterations = 0, 5
		a.Match = []flaggerv1.HTTPMatchRequest{{Headers: map[string]flaggerv1.StringMatch{"x-canary": {Exact: "1"}}}}
	}))
	ctx := context.Background()
	if err := r.Reconcile(ctx, c, router.Weights{Primary: 100}); err != nil {
		t.Fatal(err)
	}
	if err := r.Finalize(ctx, c); err != nil {
		t.Fatal(err)
	}
	for i, h := range getVirtualService(t, cl).Spec.Http {
		if len(h.Route) != 1 || h.Route[0].Destination.Host != "podinfo-canary" {
			t.Errorf("route %d goes to %v, want podinfo-canary only", i, h.Route)
		}
	}
	if err := r.Cleanup(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := r.Finalize(ctx, c); err != nil {
		t.Errorf("finalize without a VirtualService: %v", err)
	}
}

// Settings in Istio's shapes that Istio does not have are refused by
// name; fields the provider refuses altogether are router.FieldRules.
func TestIstioSettingsIstioCannotReadAreRefusedByName(t *testing.T) {
	cases := map[string]struct {
		// canary sets the field.
		canary canaryOption
		// want is in the error.
		want string
	}{
		"a misspelt corsPolicy field": {
			canary: withService(func(s *flaggerv1.CanaryService) { s.CorsPolicy = rawJSON(t, "allowOrigin: [x]\nallowMethod: [GET]") }),
			want:   `spec.service.corsPolicy is not a valid Istio CorsPolicy: unknown field "allowMethod"`,
		},
		"a headers operation Istio does not have": {
			canary: withService(func(s *flaggerv1.CanaryService) { s.Headers = rawJSON(t, "request: {append: {a: b}}") }),
			want:   `spec.service.headers is not a valid Istio Headers`,
		},
		"a trafficPolicy that is not one": {
			canary: withService(func(s *flaggerv1.CanaryService) { s.TrafficPolicy = rawJSON(t, "loadBalancer: {simple: FASTEST}") }),
			want:   "spec.service.trafficPolicy is not a valid Istio TrafficPolicy",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r, cl := newRouter(t)
			err := r.Reconcile(context.Background(), newCanary(tc.canary), router.Weights{Primary: 100})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			var list istiov1beta1.VirtualServiceList
			if err := cl.List(context.Background(), &list); err != nil || len(list.Items) > 0 {
				t.Errorf("a refused canary got %d VirtualServices (%v)", len(list.Items), err)
			}
		})
	}
}

func TestMissingIstioCRDsAreReportedWithTheKind(t *testing.T) {
	err := newRouterWithoutIstio(t).Reconcile(context.Background(), newCanary(), router.Weights{Primary: 100})
	var missing *router.MissingKindError
	if !errors.As(err, &missing) || missing.APIVersion != "networking.istio.io/v1beta1" || !strings.Contains(err.Error(), "install Istio") {
		t.Fatalf("error %v, want a MissingKindError for networking.istio.io/v1beta1 saying how to install it", err)
	}
}
