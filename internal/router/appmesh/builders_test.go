package appmesh

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/gitops"
	appmeshv1beta1 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta1"
	appmeshv1beta2 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
)

const ns = "test"

type canaryOption func(*flaggerv1.Canary)

// newCanary is the podinfo canary of the seed, on port 9898.
func newCanary(opts ...canaryOption) *flaggerv1.Canary {
	c := &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: ns, UID: types.UID("canary-uid")},
		Spec: flaggerv1.CanarySpec{
			Provider:  "appmesh:v1beta2",
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

func withPortName(name string) canaryOption {
	return func(c *flaggerv1.Canary) { c.Spec.Service.PortName = name }
}

func withTargetPort(p intstr.IntOrString) canaryOption {
	return func(c *flaggerv1.Canary) { c.Spec.Service.TargetPort = &p }
}

func withTimeout(t string) canaryOption {
	return func(c *flaggerv1.Canary) { c.Spec.Service.Timeout = t }
}

func withRetries(r flaggerv1.HTTPRetry) canaryOption {
	return func(c *flaggerv1.Canary) { c.Spec.Service.Retries = &r }
}

func withBackends(b ...string) canaryOption {
	return func(c *flaggerv1.Canary) { c.Spec.Service.Backends = b }
}

func withHosts(h ...string) canaryOption {
	return func(c *flaggerv1.Canary) { c.Spec.Service.Hosts = h }
}

func withMeshName(m string) canaryOption {
	return func(c *flaggerv1.Canary) { c.Spec.Service.MeshName = m }
}

func withURIPrefix(prefix string) canaryOption {
	return func(c *flaggerv1.Canary) {
		c.Spec.Service.Match = append(c.Spec.Service.Match, flaggerv1.HTTPMatchRequest{URI: &flaggerv1.StringMatch{Prefix: prefix}})
	}
}

// withABMatch adds an analysis.match entry, which makes the release A/B.
func withABMatch(m flaggerv1.HTTPMatchRequest) canaryOption {
	return func(c *flaggerv1.Canary) {
		c.Spec.Analysis.StepWeight = 0
		c.Spec.Analysis.Iterations = 10
		c.Spec.Analysis.Match = append(c.Spec.Analysis.Match, m)
	}
}

// withHeader is an A/B entry matching one header.
func withHeader(name string, m flaggerv1.StringMatch) canaryOption {
	return withABMatch(flaggerv1.HTTPMatchRequest{Headers: map[string]flaggerv1.StringMatch{name: m}})
}

// newDeployment is the target: selector app=podinfo, container port http
// 9898 and grpc 9999.
func newDeployment() *appsv1.Deployment {
	labels := map[string]string{"app": "podinfo"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "podinfo",
					Image: "ghcr.io/stefanprodan/podinfo:6.0.0",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 9898}, {Name: "grpc", ContainerPort: 9999}},
				}}},
			},
		},
	}
}

// newScheme knows the Canary, the built-in kinds and, with appMesh, both
// App Mesh APIs.
func newScheme(t *testing.T, appMesh bool) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	install := []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, flaggerv1.AddToScheme}
	if appMesh {
		install = append(install, appmeshv1beta2.AddToScheme, appmeshv1beta1.AddToScheme)
	}
	for _, add := range install {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// cluster is a fake API server that counts the writes made to it.
type cluster struct {
	client.Client
	scheme *runtime.Scheme
	writes *atomic.Int32
}

// newCluster holds the target Deployment and objs. With appMesh false the
// App Mesh kinds are missing: the fake client calls them not registered,
// and a real client's REST mapper calls a missing CRD no-kind-match, so
// the interceptor translates one into the other.
func newCluster(t *testing.T, appMesh bool, objs ...client.Object) cluster {
	t.Helper()
	s := newScheme(t, appMesh)
	builder := fake.NewClientBuilder().WithScheme(s).WithObjects(append([]client.Object{newDeployment()}, objs...)...)
	if appMesh {
		builder = builder.WithStatusSubresource(&appmeshv1beta2.VirtualNode{}, &appmeshv1beta2.VirtualRouter{}, &appmeshv1beta2.VirtualService{},
			&appmeshv1beta1.VirtualNode{}, &appmeshv1beta1.VirtualService{})
	}
	base := builder.Build()
	writes := &atomic.Int32{}
	noMatch := func(err error) error {
		if runtime.IsNotRegisteredError(err) {
			return &meta.NoKindMatchError{GroupKind: appmeshv1beta2.GroupVersion.WithKind("VirtualNode").GroupKind(), SearchedVersions: []string{"v1beta2"}}
		}
		return err
	}
	funcs := interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			return noMatch(c.Get(ctx, key, obj, opts...))
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			writes.Add(1)
			return noMatch(c.Create(ctx, obj, opts...))
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			writes.Add(1)
			return noMatch(c.Update(ctx, obj, opts...))
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			writes.Add(1)
			return noMatch(c.Patch(ctx, obj, p, opts...))
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			writes.Add(1)
			return noMatch(c.Delete(ctx, obj, opts...))
		},
	}
	return cluster{Client: interceptor.NewClient(base, funcs), scheme: s, writes: writes}
}

// mustGet reads an object of the test namespace, failing the test if absent.
func mustGet[T client.Object](t *testing.T, c client.Client, name string, obj T) T {
	t.Helper()
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		t.Fatalf("get %T %s: %v", obj, name, err)
	}
	return obj
}

// assertSame fails with both values as JSON when they differ.
func assertSame(t *testing.T, what string, got, want any) {
	t.Helper()
	if !equality.Semantic.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s differs\ngot:  %s\nwant: %s", what, g, w)
	}
}

// assertGeneratedByCanary checks what every generated object carries: the
// canary's controller reference and the Flux markers.
func assertGeneratedByCanary(t *testing.T, obj client.Object) {
	t.Helper()
	if !metav1.IsControlledBy(obj, newCanary()) {
		t.Errorf("%T %s is not controlled by the canary: %+v", obj, obj.GetName(), obj.GetOwnerReferences())
	}
	a := obj.GetAnnotations()
	if a[gitops.KustomizeReconcileKey] != "disabled" || a[gitops.HelmDriftDetectionKey] != "disabled" {
		t.Errorf("%T %s annotations %v: want both Flux markers", obj, obj.GetName(), a)
	}
}
