package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/internal/router/gatewayapi"
)

// routedBy renders the HTTPRoute the gatewayapi:v1 router writes for a
// canary at weights w, so the emulator is tested on the router's output.
func routedBy(t *testing.T, mutate func(c *flaggerv1.Canary), w router.Weights) *gatewayv1.HTTPRoute {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, flaggerv1.AddToScheme, gatewayv1.Install} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	c := &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test", UID: "uid"},
		Spec: flaggerv1.CanarySpec{
			Provider:  router.GatewayAPI,
			TargetRef: flaggerv1.TargetReference{Kind: "Deployment", Name: "podinfo"},
			Service:   flaggerv1.CanaryService{Port: 9898},
			Analysis:  &flaggerv1.CanaryAnalysis{Interval: "10s", StepWeight: 10},
		},
		Status: flaggerv1.CanaryStatus{LastAppliedSpec: "revision"},
	}
	mutate(c)
	cl := fake.NewClientBuilder().WithScheme(s).Build()
	r := gatewayapi.New(cl, s)
	ctx := context.Background()
	if err := r.Reconcile(ctx, c, router.Weights{Primary: 100}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetRoutes(ctx, c, w); err != nil {
		t.Fatal(err)
	}
	route := &gatewayv1.HTTPRoute{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: "test", Name: "podinfo"}, route); err != nil {
		t.Fatal(err)
	}
	route.ResourceVersion = ""
	return route
}

// The route's header modifiers and URL rewrite change what the backend
// receives and what the client gets back.
func TestDataPlaneAppliesHeaderAndRewriteFilters(t *testing.T) {
	route := routedBy(t, func(c *flaggerv1.Canary) {
		c.Spec.Service.Match = []flaggerv1.HTTPMatchRequest{{URI: &flaggerv1.StringMatch{Prefix: "/api"}}}
		c.Spec.Service.Rewrite = &flaggerv1.HTTPRewrite{URI: "/", Authority: "podinfo.internal", Type: "ReplacePrefixMatch"}
		c.Spec.Service.Headers = &apiextensionsv1.JSON{Raw: []byte(`{"request":{"set":{"x-version":"canary-test"},"remove":["x-debug"]},"response":{"add":{"x-served-by":"podinfo"}}}`)}
	}, router.Weights{Primary: 100})
	p := newTestPlane(t, append(seedObjects(), route)...)

	r := httptest.NewRequest(http.MethodGet, "/api/headers", nil)
	r.Host = "podinfo.test"
	r.Header.Set("x-debug", "1")
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/headers: %d %s (the rewrite to /headers did not happen)", rec.Code, rec.Body)
	}
	var got map[string][]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got["Host"], ",") != "podinfo.internal" || strings.Join(got["X-Version"], ",") != "canary-test" || got["X-Debug"] != nil {
		t.Errorf("the backend saw Host %v, x-version %v, x-debug %v; want podinfo.internal, canary-test and none", got["Host"], got["X-Version"], got["X-Debug"])
	}
	if h := rec.Header().Get("x-served-by"); h != "podinfo" {
		t.Errorf("response header x-served-by %q, want podinfo", h)
	}
	if rec := p.get("podinfo.test", "/headers"); rec.Code != http.StatusNotFound {
		t.Errorf("a path outside spec.service.match answered %d, want 404 (no route)", rec.Code)
	}
}

// A Gateway API RequestMirror copies its percent of the requests to the
// canary; the copies' answers never reach the client.
func TestDataPlaneMirrorsGatewayAPIRequests(t *testing.T) {
	route := routedBy(t, func(c *flaggerv1.Canary) {
		a := c.Spec.Analysis
		a.StepWeight, a.Iterations, a.Mirror, a.MirrorWeight = 0, 5, true, 40
	}, router.Weights{Primary: 100, Mirrored: true})
	p := newTestPlane(t, append(seedObjects(), route)...)
	for range 10 {
		rec := p.get("podinfo.test", "/version")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"3.1.0"`) {
			t.Fatalf("GET /version: %d %s, want the primary's 3.1.0 only", rec.Code, rec.Body)
		}
	}
	waitFor(t, func() bool { return gatherRequests(t, p.reg)["podinfo-7f8b5-ccccc/200"] == 4 })
	r := p.ledger.report()
	if split, copies := r.Split("podinfo.test"), r.Mirrored("podinfo.test", RoleCanary); split != (Split{Primary: 10}) || copies != 4 {
		t.Errorf("split %+v with %d copies on the canary, want 10 on the primary and 4 copies", split, copies)
	}
}

// With session affinity, a response from the canary sets the cookie, and
// a client that sends it back stays on the canary whatever the weights;
// after the analysis the cookie is expired and its holder follows the
// weights again.
func TestDataPlaneKeepsACookieHolderOnTheCanary(t *testing.T) {
	affinity := func(c *flaggerv1.Canary) {
		c.Spec.Analysis.SessionAffinity = &flaggerv1.SessionAffinity{CookieName: "flagger-canary", MaxAge: 3600}
	}
	p := newTestPlane(t, append(seedObjects(), routedBy(t, affinity, router.Weights{Primary: 90, Canary: 10}))...)
	var cookie string
	for range 20 {
		rec := p.get("podinfo.test", "/version")
		if strings.Contains(rec.Body.String(), `"3.1.1"`) {
			cookie = rec.Header().Get("Set-Cookie")
			break
		}
		if rec.Header().Get("Set-Cookie") != "" {
			t.Fatalf("a primary answer set a cookie: %s", rec.Header().Get("Set-Cookie"))
		}
	}
	if !strings.HasPrefix(cookie, "flagger-canary=") || !strings.Contains(cookie, "Max-Age=3600") {
		t.Fatalf("the canary's answer set the cookie %q, want flagger-canary=…; Max-Age=3600", cookie)
	}
	pair, _, _ := strings.Cut(cookie, ";")
	for range 20 {
		r := httptest.NewRequest(http.MethodGet, "/version", nil)
		r.Host = "podinfo.test"
		r.Header.Set("Cookie", "session=abc; "+pair)
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, r)
		if !strings.Contains(rec.Body.String(), `"3.1.1"`) {
			t.Fatalf("a request with the cookie reached %s, want the canary", rec.Body)
		}
	}

	p = newTestPlane(t, append(seedObjects(), routedBy(t, affinity, router.Weights{Primary: 100}))...)
	r := httptest.NewRequest(http.MethodGet, "/version", nil)
	r.Host = "podinfo.test"
	r.Header.Set("Cookie", pair)
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, r)
	if !strings.Contains(rec.Body.String(), `"3.1.0"`) || !strings.Contains(rec.Header().Get("Set-Cookie"), pair+"; Max-Age=-1") {
		t.Errorf("after the analysis the holder got %s with Set-Cookie %q, want the primary and the cookie expired", rec.Body, rec.Header().Get("Set-Cookie"))
	}
}
