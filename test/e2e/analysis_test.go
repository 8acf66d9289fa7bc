package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// release is one canary release driven through the operator against a
// real Prometheus scraping an exporter whose traffic the test controls.
type release struct {
	t       *testing.T
	e       *framework.Env
	ns      string
	flags   []string
	op      *framework.Operator
	ops     []*framework.Operator // every operator process, op the last
	weights *weightRecorder
}

// restart kills the operator, as a crash would, and starts another.
func (r *release) restart() {
	r.op.Kill()
	r.op = r.e.StartOperator(r.t, r.flags...)
	r.ops = append(r.ops, r.op)
}

// newRelease initializes the analysis canary, changed by mutate, with an
// operator started with extra flags.
func newRelease(t *testing.T, flags []string, mutate ...func(map[string]any)) *release {
	e := framework.Get()
	ns := e.Namespace(t)
	r := &release{t: t, e: e, ns: ns, flags: append([]string{"--namespace=" + ns, "--metrics-server=" + e.Prometheus.URL}, flags...)}
	r.op = e.StartOperator(t, r.flags...)
	r.ops = []*framework.Operator{r.op}
	e.Apply(t, ns, "podinfo.yaml")
	canary := framework.ReadObjects(t, "canary-analysis.yaml")[0]
	canary.SetNamespace(ns)
	for _, m := range mutate {
		m(canary.Object)
	}
	if err := e.Client.Create(context.Background(), canary); err != nil {
		t.Fatal(err)
	}
	waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)
	r.weights = recordWeights(t, ns, "podinfo")
	// Metrics of the primary's and the canary's pods; the canary's pod
	// names match the built-in queries' pod pattern, the primary's do not.
	e.Exporter.SetTraffic(ns, "podinfo-primary-6c7d9-abcde", framework.Traffic{RPS: 20, SuccessRatio: 1, Latency: 20 * time.Millisecond})
	return r
}

// serve sets what the canary's pods answer, and waits until Prometheus
// can compute a rate from it, so the first check already has values.
func (r *release) serve(tr framework.Traffic) {
	const pod = "podinfo-7f8b5-x2x4z"
	r.e.Exporter.SetTraffic(r.ns, pod, tr)
	// The canary is on gatewayapi:v1, whose built-in metrics read the
	// application's histogram.
	q := fmt.Sprintf(`rate(http_request_duration_seconds_count{kubernetes_namespace=%q,kubernetes_pod_name=%q}[10s]) > 0`, r.ns, pod)
	framework.Eventually(r.t, 30*time.Second, "Prometheus to have the canary's traffic", func(ctx context.Context) (bool, string) {
		return r.e.Prometheus.HasResult(ctx, q)
	})
}

// deploy changes the target's image: a new revision.
func (r *release) deploy(image string) {
	r.t.Helper()
	deployImage(r.t, r.ns, image)
}

// deployImage changes the image of the target podinfo in ns.
func deployImage(t *testing.T, ns, image string) {
	t.Helper()
	d := &appsv1.Deployment{}
	framework.MustGet(t, ns, "podinfo", d)
	patch := client.MergeFrom(d.DeepCopy())
	d.Spec.Template.Spec.Containers[0].Image = image
	if err := framework.Get().Client.Patch(context.Background(), d, patch); err != nil {
		t.Fatal(err)
	}
}

// A healthy canary advances 5, 10, … 50 on the HTTPRoute, is promoted, and
// ends with the primary on the new image and the canary scaled to zero.
func TestHealthyCanaryIsPromoted(t *testing.T) {
	t.Parallel()
	r := newRelease(t, nil)
	r.serve(framework.Traffic{RPS: 20, SuccessRatio: 1, Latency: 20 * time.Millisecond})
	r.deploy("stefanprodan/podinfo:3.1.1")
	waitForPhase(t, r.ns, "podinfo", flaggerv1.CanaryPhaseSucceeded, 120*time.Second)
	r.assertSettled("stefanprodan/podinfo:3.1.1")
	want := []int{0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 0}
	if got := r.weights.sequence(); !slices.Equal(got, want) {
		t.Errorf("canary weights on the HTTPRoute %v, want %v", got, want)
	}
	assertEvent(t, r.ns, "podinfo", "Promotion completed! Scaling down podinfo."+r.ns)
	r.assertOperatorMetrics(map[string]float64{
		`flagger_canary_status{name="podinfo",namespace="` + r.ns + `"}`:                                        1,
		`flagger_canary_weight{workload="podinfo",namespace="` + r.ns + `"}`:                                    0,
		`flagger_canary_weight{workload="podinfo-primary",namespace="` + r.ns + `"}`:                            100,
		`flagger_canary_total{namespace="` + r.ns + `"}`:                                                        1,
		`flagger_canary_successes_total{name="podinfo",namespace="` + r.ns + `"}`:                               1,
		`flagger_canary_metric_analysis{name="podinfo",namespace="` + r.ns + `",metric="request-success-rate"}`: 100,
		`flagger_info{version="dev",mesh_provider="kubernetes"}`:                                                1,
	})
	r.assertNoErrors()
}

// assertOperatorMetrics checks samples of the operator's /metrics, written
// as name{label="value",...}.
func (r *release) assertOperatorMetrics(want map[string]float64) {
	r.t.Helper()
	for series, value := range want {
		name, labels := parseSeries(series)
		got, err := r.op.Metric(context.Background(), name, labels)
		if err != nil || got != value {
			r.t.Errorf("%s = %v (%v), want %v", series, got, err, value)
		}
	}
}

func parseSeries(s string) (string, map[string]string) {
	name, rest, _ := strings.Cut(s, "{")
	labels := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			labels[k] = strings.Trim(v, `"`)
		}
	}
	return name, labels
}

// A canary answering 40 % errors halts on every check and is rolled back
// after exactly threshold (5) failed checks.
func TestFailingCanaryIsRolledBack(t *testing.T) {
	t.Parallel()
	sink := newEventSink(t)
	r := newRelease(t, []string{"--event-webhook=" + sink.srv.URL})
	r.serve(framework.Traffic{RPS: 20, SuccessRatio: 0.6, Latency: 20 * time.Millisecond})
	r.deploy("stefanprodan/podinfo:3.0.2")
	c := waitForPhase(t, r.ns, "podinfo", flaggerv1.CanaryPhaseFailed, 120*time.Second)
	if c.Status.FailedChecks != 5 {
		t.Errorf("failedChecks %d, want 5", c.Status.FailedChecks)
	}
	r.assertSettled("stefanprodan/podinfo:3.1.0")
	// The step's log lines follow its status write, so by now they are out.
	halts := r.messages("Halt podinfo." + r.ns + " advancement success rate 60.00% < 99%")
	if halts != 5 {
		t.Errorf("%d halt messages, want 5:\n%s", halts, r.op.Log())
	}
	assertEvent(t, r.ns, "podinfo", "Canary failed! Scaling down podinfo."+r.ns)
	if got := r.weights.sequence(); !slices.Equal(got, []int{0}) {
		t.Errorf("canary weights %v: a failing canary must never get traffic", got)
	}
	// Event webhooks are called in the background, after the routes moved.
	for _, msg := range []string{"Rolling back podinfo." + r.ns + " failed checks threshold reached 5", "Canary failed! Scaling down podinfo." + r.ns} {
		framework.Eventually(t, 10*time.Second, "the event webhook to receive "+msg, func(context.Context) (bool, string) {
			return slices.Contains(sink.messages(), msg), fmt.Sprintf("received %q", sink.messages())
		})
	}
	if la := c.Status.LastAnalysis; la == nil || len(la.Checks) == 0 || la.Checks[0].Value != "60.00" || la.Checks[0].Passed {
		t.Errorf("status.lastAnalysis does not explain the halt: %+v", la)
	}
	r.assertNoErrors()
}

// assertSettled waits until the primary runs image, the canary has no
// replicas and all traffic is on the primary: the end of every release.
func (r *release) assertSettled(image string) {
	r.t.Helper()
	framework.Eventually(r.t, 30*time.Second, "the release to settle", func(ctx context.Context) (bool, string) {
		primary, target, route := &appsv1.Deployment{}, &appsv1.Deployment{}, &gatewayv1.HTTPRoute{}
		for name, o := range map[string]client.Object{"podinfo-primary": primary, "podinfo": target} {
			if err := r.e.Client.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: name}, o); err != nil {
				return false, err.Error()
			}
		}
		if err := r.e.Client.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: "podinfo"}, route); err != nil {
			return false, err.Error()
		}
		img := primary.Spec.Template.Spec.Containers[0].Image
		refs := route.Spec.Rules[0].BackendRefs
		weights := fmt.Sprintf("%d/%d", *refs[0].Weight, *refs[1].Weight)
		return img == image && *target.Spec.Replicas == 0 && weights == "100/0",
			fmt.Sprintf("primary image %s (want %s), canary replicas %d (want 0), routes %s (want 100/0)", img, image, *target.Spec.Replicas, weights)
	})
}

// messages counts the log lines with exactly msg over every operator.
func (r *release) messages(msg string) int {
	n := 0
	for _, op := range r.ops {
		n += strings.Count(op.Log(), fmt.Sprintf(`"msg":%q`, msg))
	}
	return n
}

func (r *release) assertNoErrors() {
	r.t.Helper()
	for _, op := range r.ops {
		if lines := op.ErrorLines(); len(lines) > 0 {
			r.t.Errorf("operator logged errors:\n%s", strings.Join(lines, "\n"))
		}
	}
}

// weightRecorder watches the HTTPRoute and records each distinct canary
// weight in order.
type weightRecorder struct {
	mu      sync.Mutex
	weights []int
}

func recordWeights(t *testing.T, ns, name string) *weightRecorder {
	t.Helper()
	rec := &weightRecorder{}
	framework.Get().Watch(t, &gatewayv1.HTTPRouteList{}, func(_ context.Context, ev watch.Event) {
		route, ok := ev.Object.(*gatewayv1.HTTPRoute)
		if !ok || ev.Type == watch.Deleted || route.Name != name || len(route.Spec.Rules) == 0 {
			return
		}
		refs := route.Spec.Rules[0].BackendRefs
		if len(refs) == 2 && refs[1].Weight != nil {
			rec.add(int(*refs[1].Weight))
		}
	}, client.InNamespace(ns))
	return rec
}

func (w *weightRecorder) add(v int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.weights); n == 0 || w.weights[n-1] != v {
		w.weights = append(w.weights, v)
	}
}

func (w *weightRecorder) sequence() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.weights)
}

// eventSink is an event webhook that keeps the messages it receives.
type eventSink struct {
	srv  *httptest.Server
	mu   sync.Mutex
	msgs []string
}

func newEventSink(t *testing.T) *eventSink {
	s := &eventSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Metadata map[string]string `json:"metadata"`
		}
		if err := json.NewDecoder(r.Body).Decode(&p); err == nil {
			s.mu.Lock()
			s.msgs = append(s.msgs, p.Metadata["eventMessage"])
			s.mu.Unlock()
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *eventSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}
