package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
	"github.com/serin-dev/serin/internal/configdata"
	"github.com/serin-dev/serin/internal/notify"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/internal/router/kubernetes"
	"github.com/serin-dev/serin/internal/workload"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// journal records, in order, what the reconciler did to the outside
// world: status writes, route and scale changes, events, notifications and
// webhook calls.
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, fmt.Sprintf(format, args...))
}

func (j *journal) all() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.entries...)
}

// index is the position of the first entry starting with prefix; -1 when
// there is none.
func (j *journal) index(prefix string) int {
	for i, e := range j.all() {
		if strings.HasPrefix(e, prefix) {
			return i
		}
	}
	return -1
}

// assertOrder checks that entries starting with each prefix exist and come
// in the given order.
func (j *journal) assertOrder(t *testing.T, prefixes ...string) {
	t.Helper()
	last := -1
	for _, p := range prefixes {
		i := j.index(p)
		if i < 0 {
			t.Fatalf("no %q in the journal:\n%s", p, strings.Join(j.all(), "\n"))
		}
		if i < last {
			t.Fatalf("%q came before %q:\n%s", p, prefixes[max(0, slices.Index(prefixes, p)-1)], strings.Join(j.all(), "\n"))
		}
		last = i
	}
}

// fakeRouter keeps one routing object per canary in memory.
type fakeRouter struct {
	name    string
	j       *journal
	mu      sync.Mutex
	exists  bool
	weights router.Weights
}

func (f *fakeRouter) Reconcile(_ context.Context, _ *flaggerv1.Canary, w router.Weights) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.exists {
		f.exists, f.weights = true, w
		f.j.add("%s: create routes %d/%d", f.name, w.Primary, w.Canary)
	}
	return nil
}

func (f *fakeRouter) SetRoutes(_ context.Context, _ *flaggerv1.Canary, w router.Weights) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.weights = w
	f.j.add("%s: routes %d/%d", f.name, w.Primary, w.Canary)
	return nil
}

func (f *fakeRouter) GetRoutes(context.Context, *flaggerv1.Canary) (router.Weights, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.exists {
		return router.Weights{}, apierrors.NewNotFound(schema.GroupResource{Resource: "routes"}, "podinfo")
	}
	return f.weights, nil
}

func (f *fakeRouter) Finalize(context.Context, *flaggerv1.Canary) error {
	f.j.add("%s: routes to the target", f.name)
	return nil
}

func (f *fakeRouter) Cleanup(context.Context, *flaggerv1.Canary) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exists = false
	f.j.add("%s: cleanup", f.name)
	return nil
}

func (f *fakeRouter) get() (bool, router.Weights) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exists, f.weights
}

// fakeHooks answers webhooks from a table and journals each call; hang
// makes a type wait for its context.
type fakeHooks struct {
	j       *journal
	answers map[flaggerv1.HookType]error
	hang    map[flaggerv1.HookType]bool
}

func (f *fakeHooks) Run(ctx context.Context, c *flaggerv1.Canary, t flaggerv1.HookType, checksum string) []analysis.HookResult {
	if !analysis.HasHooks(c, t) {
		return nil
	}
	f.j.add("hook %s %s", t, checksum)
	if f.hang[t] {
		<-ctx.Done()
		return []analysis.HookResult{{Name: string(t), Err: ctx.Err()}}
	}
	return []analysis.HookResult{{Name: string(t), Err: f.answers[t]}}
}

func (f *fakeHooks) EventSinks(c *flaggerv1.Canary) []notify.Sink {
	if !analysis.HasHooks(c, flaggerv1.EventHook) {
		return nil
	}
	return []notify.Sink{nil}
}

// fakeNotifier journals what would be queued.
type fakeNotifier struct{ j *journal }

func (f fakeNotifier) Notify(n notify.Notification, sinks ...notify.Sink) {
	f.j.add("notify %s (%s, weight %d, %d checks)", n.Message, n.Severity, n.CanaryWeight, len(n.Checks))
}

// fakeMetrics answers every metric with a success rate.
type fakeMetrics struct{ rate float64 }

func (f fakeMetrics) Check(context.Context, *flaggerv1.Canary, string) []analysis.MetricResult {
	r := analysis.MetricResult{Name: "request-success-rate", Value: fmt.Sprintf("%.2f", f.rate), Threshold: ">= 99", Passed: f.rate >= 99}
	if !r.Passed {
		r.Message = fmt.Sprintf("Halt podinfo.test advancement success rate %.2f%% < 99%%", f.rate)
	}
	return []analysis.MetricResult{r}
}

// Compare has nothing to compare: the fixtures' canaries have no judge.
func (f fakeMetrics) Compare(context.Context, *flaggerv1.Canary, string, time.Duration) []analysis.ComparisonResult {
	return nil
}

// journalRecorder journals Kubernetes events.
type journalRecorder struct{ j *journal }

func (r journalRecorder) Event(_ runtime.Object, typ, reason, msg string) {
	r.j.add("event %s %s %s", typ, reason, msg)
}
func (r journalRecorder) Eventf(o runtime.Object, typ, reason, format string, args ...any) {
	r.Event(o, typ, reason, fmt.Sprintf(format, args...))
}
func (r journalRecorder) AnnotatedEventf(o runtime.Object, _ map[string]string, typ, reason, format string, args ...any) {
	r.Eventf(o, typ, reason, format, args...)
}

// env is a reconciler over a fake client, with everything journaled.
type env struct {
	t      *testing.T
	j      *journal
	client client.WithWatch
	r      *CanaryReconciler
	clock  *clocktesting.FakeClock
	routes map[string]*fakeRouter
	hooks  *fakeHooks
}

type envOpt func(*envConfig)

type envConfig struct {
	objs    []client.Object
	funcs   interceptor.Funcs
	rate    float64
	hooks   map[flaggerv1.HookType]error
	hang    map[flaggerv1.HookType]bool
	timeout time.Duration
}

func withObjects(objs ...client.Object) envOpt {
	return func(c *envConfig) { c.objs = append(c.objs, objs...) }
}
func withInterceptor(f interceptor.Funcs) envOpt { return func(c *envConfig) { c.funcs = f } }
func withSuccessRate(r float64) envOpt           { return func(c *envConfig) { c.rate = r } }
func withHangingHooks(types ...flaggerv1.HookType) envOpt {
	return func(c *envConfig) {
		for _, t := range types {
			c.hang[t] = true
		}
	}
}
func withStepTimeout(d time.Duration) envOpt { return func(c *envConfig) { c.timeout = d } }

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = flaggerv1.AddToScheme(s)
	return s
}

func newEnv(t *testing.T, opts ...envOpt) *env {
	cfg := envConfig{rate: 100, hooks: map[flaggerv1.HookType]error{}, hang: map[flaggerv1.HookType]bool{}}
	for _, o := range opts {
		o(&cfg)
	}
	j := &journal{}
	scheme := newScheme()
	funcs := journaled(j, cfg.funcs)
	cl := fake.NewClientBuilder().WithScheme(scheme).WithObjects(cfg.objs...).
		WithStatusSubresource(&flaggerv1.Canary{}, &appsv1.Deployment{}).
		WithIndex(&flaggerv1.Canary{}, targetIndex, func(o client.Object) []string { return []string{o.(*flaggerv1.Canary).Spec.TargetRef.Name} }).
		WithInterceptorFuncs(funcs).Build()
	routes := map[string]*fakeRouter{"fake": {name: "fake", j: j}, "other": {name: "other", j: j}}
	routers := map[string]router.Router{"fake": routes["fake"], "other": routes["other"], "kubernetes": kubernetes.Router{}}
	hooks := &fakeHooks{j: j, answers: cfg.hooks, hang: cfg.hang}
	clock := clocktesting.NewFakeClock(t0)
	r := &CanaryReconciler{
		Client: cl, APIReader: cl, Scheme: scheme, Recorder: journalRecorder{j}, Clock: clock,
		Routers: router.NewFactory(routers), LiveRouters: router.NewFactory(routers),
		Services: &kubernetes.Services{Client: cl, Scheme: scheme},
		Webhooks: hooks, Metrics: fakeMetrics{rate: cfg.rate}, Notifier: fakeNotifier{j},
		StepTimeout: cfg.timeout, DefaultProvider: "fake", SelectorLabels: []string{"app"},
		Configs: &configdata.Reader{Metadata: cl, API: cl},
	}
	return &env{t: t, j: j, client: cl, r: r, clock: clock, routes: routes, hooks: hooks}
}

// journaled records status writes and Deployment patches and creations,
// then calls f's functions or the client.
func journaled(j *journal, f interceptor.Funcs) interceptor.Funcs {
	return interceptor.Funcs{
		Get: f.Get,
		SubResourceUpdate: func(ctx context.Context, cl client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			if f.SubResourceUpdate != nil {
				if err := f.SubResourceUpdate(ctx, cl, sub, obj, opts...); err != nil {
					return err
				}
			}
			if c, ok := obj.(*flaggerv1.Canary); ok {
				j.add("status %s weight %d pendingPostRollout %q", c.Status.Phase, c.Status.CanaryWeight, c.Status.PendingPostRollout)
			}
			return cl.SubResource(sub).Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, cl client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if f.Patch != nil {
				if err := f.Patch(ctx, cl, obj, patch, opts...); err != nil {
					return err
				}
			}
			if d, ok := obj.(*appsv1.Deployment); ok && d.Spec.Replicas != nil {
				j.add("patch deployment %s replicas %d", d.Name, *d.Spec.Replicas)
			}
			if c, ok := obj.(*flaggerv1.Canary); ok {
				j.add("patch canary finalizers %v", c.Finalizers)
			}
			return cl.Patch(ctx, obj, patch, opts...)
		},
		Create: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if f.Create != nil {
				if err := f.Create(ctx, cl, obj, opts...); err != nil {
					return err
				}
			}
			if d, ok := obj.(*appsv1.Deployment); ok {
				j.add("create deployment %s image %s", d.Name, d.Spec.Template.Spec.Containers[0].Image)
			}
			return cl.Create(ctx, obj, opts...)
		},
	}
}

// routed gives the fake routing object the weights primary/canary.
func (e *env) routed(primary, canary int) {
	e.routes["fake"].exists, e.routes["fake"].weights = true, router.Weights{Primary: primary, Canary: canary}
}

// reconcileWithin reconciles and fails the test if that takes longer than
// timeout: something waited for what it must not wait for.
func (e *env) reconcileWithin(timeout time.Duration) error {
	e.t.Helper()
	done := make(chan error, 1)
	go func() { _, err := e.reconcile(); done <- err }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		e.t.Fatalf("the reconcile did not end within %s", timeout)
		return nil
	}
}

// reconcile runs one reconcile of canary podinfo.
func (e *env) reconcile() (ctrl.Result, error) {
	e.t.Helper()
	return e.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "test", Name: "podinfo"}})
}

func (e *env) canary() *flaggerv1.Canary {
	e.t.Helper()
	c := &flaggerv1.Canary{}
	if err := e.client.Get(context.Background(), client.ObjectKey{Namespace: "test", Name: "podinfo"}, c); err != nil {
		e.t.Fatalf("get canary: %v", err)
	}
	return c
}

func (e *env) deployment(name string) *appsv1.Deployment {
	e.t.Helper()
	d := &appsv1.Deployment{}
	if err := e.client.Get(context.Background(), client.ObjectKey{Namespace: "test", Name: name}, d); err != nil {
		e.t.Fatalf("get deployment %s: %v", name, err)
	}
	return d
}

// deploymentOpt changes a Deployment fixture.
type deploymentOpt func(*appsv1.Deployment)

// newDeployment returns a ready Deployment with selector app=<label>.
func newDeployment(name, label, image string, replicas int32, opts ...deploymentOpt) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "test", UID: k8stypes.UID("uid-" + name), Generation: 1},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": label}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": label}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "podinfo", Image: image}}},
			},
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: replicas, UpdatedReplicas: replicas, AvailableReplicas: replicas, ReadyReplicas: replicas},
	}
	for _, o := range opts {
		o(d)
	}
	return d
}

func ownedBy(c *flaggerv1.Canary) deploymentOpt {
	return func(d *appsv1.Deployment) {
		d.OwnerReferences = []metav1.OwnerReference{{APIVersion: "flagger.app/v1beta1", Kind: "Canary", Name: c.Name, UID: c.UID, Controller: ptrTo(true)}}
	}
}

func notAvailable(d *appsv1.Deployment) { d.Status.AvailableReplicas, d.Status.ReadyReplicas = 0, 0 }

func ptrTo[T any](v T) *T { return &v }

// canaryOpt changes a Canary fixture.
type canaryOpt func(*flaggerv1.Canary)

// release is the fixture of a canary releasing podinfo:2 (the target)
// while the primary runs podinfo:1; opts change the canary.
type release struct {
	canary          *flaggerv1.Canary
	target, primary *appsv1.Deployment
}

func newRelease(opts ...canaryOpt) release {
	c := &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test", UID: "uid-canary", Generation: 1,
			Finalizers: []string{finalizer}, CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))},
		Spec: flaggerv1.CanarySpec{
			TargetRef: flaggerv1.TargetReference{Kind: "Deployment", Name: "podinfo"},
			Service:   flaggerv1.CanaryService{Port: 9898},
			Analysis:  &flaggerv1.CanaryAnalysis{Interval: "10s", Threshold: 5, StepWeight: 10, MaxWeight: 50},
		},
	}
	target := newDeployment("podinfo", "podinfo", "podinfo:2", 2)
	primary := newDeployment("podinfo-primary", "podinfo-primary", "podinfo:1", 2, ownedBy(c))
	promoted := newDeployment("podinfo", "podinfo", "podinfo:1", 2)
	c.Status = flaggerv1.CanaryStatus{
		Phase: flaggerv1.CanaryPhaseProgressing, Provider: "fake",
		LastAppliedSpec: workload.TemplateHash(&target.Spec.Template), LastPromotedSpec: workload.TemplateHash(&promoted.Spec.Template),
		CanaryWeight: 20, FailedChecks: 0, PrimaryReplicas: ptrTo(int32(2)),
		LastAnalysis:       &flaggerv1.AnalysisRecord{Time: metav1.NewTime(t0.Add(-10 * time.Second)), CanaryWeight: 20, Passed: true},
		LastTransitionTime: metav1.NewTime(t0.Add(-time.Minute)),
	}
	for _, o := range opts {
		o(c)
	}
	return release{canary: c, target: target, primary: primary}
}

func (r release) objects() []client.Object { return []client.Object{r.canary, r.target, r.primary} }

func atWeight(w int) canaryOpt { return func(c *flaggerv1.Canary) { c.Status.CanaryWeight = w } }
func withFailedChecks(n int) canaryOpt {
	return func(c *flaggerv1.Canary) { c.Status.FailedChecks = n }
}
func inPhase(p flaggerv1.CanaryPhase) canaryOpt {
	return func(c *flaggerv1.Canary) { c.Status.Phase = p }
}
func withWebhooks(types ...flaggerv1.HookType) canaryOpt {
	return func(c *flaggerv1.Canary) {
		for _, t := range types {
			c.Spec.Analysis.Webhooks = append(c.Spec.Analysis.Webhooks, flaggerv1.CanaryWebhook{Name: string(t), Type: t, URL: "http://hooks.test/" + string(t)})
		}
	}
}
func withProvider(p string) canaryOpt { return func(c *flaggerv1.Canary) { c.Spec.Provider = p } }
