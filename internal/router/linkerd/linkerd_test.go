package linkerd

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
)

func newCanary(mutate ...func(c *flaggerv1.Canary)) *flaggerv1.Canary {
	c := &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test", UID: "canary-uid"},
		Spec: flaggerv1.CanarySpec{
			Provider:  Provider,
			TargetRef: flaggerv1.TargetReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "podinfo"},
			Service:   flaggerv1.CanaryService{Port: 9898},
			Analysis:  &flaggerv1.CanaryAnalysis{Interval: "1m", StepWeight: 5},
		},
	}
	for _, m := range mutate {
		m(c)
	}
	return c
}

func newRouter(t *testing.T, funcs *interceptor.Funcs) (router.Router, client.Client) {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, flaggerv1.AddToScheme, gatewayv1.Install} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	var cl client.Client = fake.NewClientBuilder().WithScheme(s).Build()
	if funcs != nil {
		cl = interceptor.NewClient(cl.(client.WithWatch), *funcs)
	}
	return New(cl, s), cl
}

func getRoute(t *testing.T, cl client.Client) *gatewayv1.HTTPRoute {
	t.Helper()
	route := &gatewayv1.HTTPRoute{}
	if err := cl.Get(context.Background(), client.ObjectKey{Namespace: "test", Name: "podinfo"}, route); err != nil {
		t.Fatal(err)
	}
	return route
}

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

func TestTheRouteIsAttachedToTheApexServiceWithLinkerdsRetriesAndTheHeaderFilters(t *testing.T) {
	r, cl := newRouter(t, nil)
	c := newCanary(func(c *flaggerv1.Canary) {
		c.Spec.Service.Timeout = "10s"
		c.Spec.Service.Retries = &flaggerv1.HTTPRetry{Attempts: 3, PerTryTimeout: "2s", RetryOn: "gateway-error,500-504"}
		c.Spec.Service.Headers = &apiextensionsv1.JSON{Raw: []byte(`{"request":{"set":{"x-b":"2","x-a":"1"}},"response":{"remove":["server"]}}`)}
		c.Spec.Service.Match = []flaggerv1.HTTPMatchRequest{{URI: &flaggerv1.StringMatch{Prefix: "/api"}, QueryParams: map[string]flaggerv1.StringMatch{"v": {Exact: "2"}}}}
	})
	ctx := context.Background()
	if err := r.Reconcile(ctx, c, router.Weights{Primary: 100}); err != nil {
		t.Fatal(err)
	}
	route := getRoute(t, cl)
	want := `parentRefs:
- group: core
  kind: Service
  name: podinfo
  port: 9898
rules:
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
  filters:
  - requestHeaderModifier:
      set:
      - name: x-a
        value: "1"
      - name: x-b
        value: "2"
    type: RequestHeaderModifier
  - responseHeaderModifier:
      remove:
      - server
    type: ResponseHeaderModifier
  matches:
  - path:
      type: PathPrefix
      value: /api
    queryParams:
    - name: v
      type: Exact
      value: "2"
  timeouts:
    request: 10s
`
	if got := toYAML(t, route.Spec); got != want {
		t.Errorf("HTTPRoute spec:\n%s\nwant:\n%s", got, want)
	}
	wantAnnotations := map[string]string{retryHTTPAnnotation: "gateway-error,500-504", retryLimitAnnotation: "3", retryTimeoutAnnotation: "2s"}
	for k, v := range wantAnnotations {
		if route.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, route.Annotations[k], v)
		}
	}
	if err := r.SetRoutes(ctx, c, router.Weights{Primary: 95, Canary: 5}); err != nil {
		t.Fatal(err)
	}
	if w, err := r.GetRoutes(ctx, c); err != nil || w != (router.Weights{Primary: 95, Canary: 5}) {
		t.Fatalf("GetRoutes = %+v, %v; want 95/5", w, err)
	}
	version := getRoute(t, cl).ResourceVersion
	c.Spec.Service.Retries = nil
	if err := r.Reconcile(ctx, c, router.Weights{Primary: 100}); err != nil {
		t.Fatal(err)
	}
	route = getRoute(t, cl)
	if _, ok := route.Annotations[retryHTTPAnnotation]; ok || route.ResourceVersion == version {
		t.Errorf("removing spec.service.retries left the annotations %v", route.Annotations)
	}
	if w, _ := r.GetRoutes(ctx, c); w.Canary != 5 {
		t.Errorf("reconcile changed the weights to %+v", w)
	}
}

// A retry condition Linkerd has no name for is refused by name; fields
// Linkerd refuses altogether are router.FieldRules.
func TestARetryConditionLinkerdCannotTakeIsRefusedByName(t *testing.T) {
	r, cl := newRouter(t, nil)
	err := r.Reconcile(context.Background(), newCanary(func(c *flaggerv1.Canary) {
		c.Spec.Service.Retries = &flaggerv1.HTTPRetry{RetryOn: "5xx,connect-failure"}
	}), router.Weights{Primary: 100})
	want := `spec.service.retries.retryOn "connect-failure" is not supported by provider linkerd`
	var unsupported *router.UnsupportedFieldError
	if !errors.As(err, &unsupported) || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want an UnsupportedFieldError containing %q", err, want)
	}
	var routes gatewayv1.HTTPRouteList
	if err := cl.List(context.Background(), &routes); err != nil || len(routes.Items) > 0 {
		t.Errorf("a refused canary got %d routes (%v)", len(routes.Items), err)
	}
}

func TestMissingGatewayAPICRDsAreReportedForLinkerd(t *testing.T) {
	noMatch := &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: gatewayv1.GroupName, Kind: "HTTPRoute"}, SearchedVersions: []string{"v1"}}
	r, _ := newRouter(t, &interceptor.Funcs{
		Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
			return noMatch
		},
	})
	err := r.Reconcile(context.Background(), newCanary(), router.Weights{Primary: 100})
	var missing *router.MissingKindError
	if !errors.As(err, &missing) || missing.Kind != "HTTPRoute" || !strings.Contains(err.Error(), "Gateway API CRDs that Linkerd reads") {
		t.Fatalf("error %v, want a MissingKindError for HTTPRoute saying how to install it for Linkerd", err)
	}
}
