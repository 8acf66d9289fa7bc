package istio

import (
	"context"
	"encoding/json"
	"testing"

	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

type canaryOption func(*flaggerv1.Canary)

// newCanary is the podinfo canary of Flagger's Istio tutorial, on port
// 9898, in its first analysis of revision "rev-1".
func newCanary(opts ...canaryOption) *flaggerv1.Canary {
	c := &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test", UID: types.UID("canary-uid")},
		Spec: flaggerv1.CanarySpec{
			Provider:  Provider,
			TargetRef: flaggerv1.TargetReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "podinfo"},
			Service:   flaggerv1.CanaryService{Port: 9898},
			Analysis:  &flaggerv1.CanaryAnalysis{Interval: "1m", StepWeight: 5},
		},
		Status: flaggerv1.CanaryStatus{LastAppliedSpec: "rev-1"},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func withService(f func(s *flaggerv1.CanaryService)) canaryOption {
	return func(c *flaggerv1.Canary) { f(&c.Spec.Service) }
}

func withAnalysis(f func(a *flaggerv1.CanaryAnalysis)) canaryOption {
	return func(c *flaggerv1.Canary) { f(c.Spec.Analysis) }
}

// rawJSON is a JSON field of the canary, written as YAML for readability.
func rawJSON(t *testing.T, y string) *apiextensionsv1.JSON {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return &apiextensionsv1.JSON{Raw: j}
}

func newScheme(t *testing.T, withIstio bool) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	install := []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, flaggerv1.AddToScheme}
	if withIstio {
		install = append(install, istiov1beta1.AddToScheme)
	}
	for _, add := range install {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// newRouter returns the router and its fake client.
func newRouter(t *testing.T) (*Router, client.Client) {
	t.Helper()
	s := newScheme(t, true)
	c := fake.NewClientBuilder().WithScheme(s).Build()
	return New(c, s), c
}

// newRouterWithoutIstio is a router on a cluster without Istio's CRDs: the
// interceptor turns the fake client's not-registered errors into the
// no-kind-match errors a real REST mapper returns.
func newRouterWithoutIstio(t *testing.T) *Router {
	t.Helper()
	s := newScheme(t, false)
	noMatch := func(err error) error {
		if runtime.IsNotRegisteredError(err) {
			return &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "networking.istio.io", Kind: "VirtualService"}, SearchedVersions: []string{"v1beta1"}}
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
	}
	return New(interceptor.NewClient(fake.NewClientBuilder().WithScheme(s).Build(), funcs), s)
}

func getVirtualService(t *testing.T, c client.Client) *istiov1beta1.VirtualService {
	t.Helper()
	vs := &istiov1beta1.VirtualService{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "test", Name: "podinfo"}, vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

// specYAML prints a spec as the API server stores it, for comparison with
// the expected shape.
func specYAML(t *testing.T, spec any) string {
	t.Helper()
	j, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.JSONToYAML(j)
	if err != nil {
		t.Fatal(err)
	}
	return string(y)
}
