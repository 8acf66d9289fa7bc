package telemetry

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
)

func canary(name, target string, created time.Time, weight int) *flaggerv1.Canary {
	return &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "test", CreationTimestamp: metav1.NewTime(created)},
		Spec:       flaggerv1.CanarySpec{TargetRef: flaggerv1.TargetReference{Kind: "Deployment", Name: target}},
		Status:     flaggerv1.CanaryStatus{Phase: flaggerv1.CanaryPhaseProgressing, CanaryWeight: weight},
	}
}

// newRecorder registers a Recorder whose cache holds canaries.
func newRecorder(t *testing.T, canaries ...*flaggerv1.Canary) (*Recorder, *prometheus.Registry, client.Client) {
	t.Helper()
	scheme := runtime.NewScheme()
	_ = flaggerv1.AddToScheme(scheme)
	b := fake.NewClientBuilder().WithScheme(scheme)
	for _, c := range canaries {
		b = b.WithObjects(c)
	}
	cache := b.Build()
	reg := prometheus.NewRegistry()
	r, err := New(reg, cache, "dev", "kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	return r, reg, cache
}

// Two canaries naming one Deployment would export flagger_canary_weight
// twice with the same labels, which fails the whole scrape; the workload's
// weight is reported once, for the canary that releases it.
func TestTwoCanariesForOneDeploymentKeepMetricsScrapable(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	_, reg, _ := newRecorder(t, canary("podinfo", "podinfo", t0, 30), canary("podinfo-again", "podinfo", t0.Add(time.Minute), 0))
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("gather: %v", err)
	}
	want := `
# HELP flagger_canary_weight Share of traffic, in percent, on the primary and the canary workload.
# TYPE flagger_canary_weight gauge
flagger_canary_weight{namespace="test",workload="podinfo"} 30
flagger_canary_weight{namespace="test",workload="podinfo-primary"} 70
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "flagger_canary_weight"); err != nil {
		t.Error(err)
	}
}

// The series a canary left are removed when it is deleted.
func TestForgetRemovesADeletedCanarysSeries(t *testing.T) {
	r, reg, _ := newRecorder(t)
	gone, kept := canary("gone", "gone", time.Now(), 0), canary("kept", "kept", time.Now(), 0)
	for _, c := range []*flaggerv1.Canary{gone, kept} {
		r.ObserveStep(c, time.Second)
		r.MetricResults(c, []analysis.MetricResult{{Name: "request-success-rate", Value: "99.50"}})
		c.Status.Phase = flaggerv1.CanaryPhaseFailed
		r.Transition(c, flaggerv1.CanaryPhaseProgressing)
	}
	r.Forget("test", "gone")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" {
					seen[l.GetValue()+" "+mf.GetName()] = true
				}
			}
		}
	}
	for _, name := range []string{"flagger_canary_duration_seconds", "flagger_canary_metric_analysis", "flagger_canary_failures_total"} {
		if seen["gone "+name] || !seen["kept "+name] {
			t.Errorf("%s: series of the deleted canary present %v, of the other %v", name, seen["gone "+name], seen["kept "+name])
		}
	}
}

// Each analysis step's time is exported to the millisecond, for serin
// replay, once per step: a reconcile that took no step leaves it, and a
// canary without a record (before a release's first step) exports 0.
func TestEachAnalysisStepsTimeIsExportedOnce(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	c := canary("podinfo", "podinfo", t0, 5)
	r, reg, cache := newRecorder(t, c)
	r.Analysed(c, nil, nil, t0)
	if got, ok := stepTime(t, reg); !ok || got != 0 {
		t.Errorf("before the first step: %v (exported %v), want 0", got, ok)
	}
	// The record's time is truncated to the second, the step ran at .5.
	step := &flaggerv1.AnalysisRecord{Time: metav1.NewTime(t0.Add(time.Second)), Decision: "Advance"}
	r.Analysed(c, nil, step, t0.Add(1500*time.Millisecond))
	cacheRecord(t, cache, c, step, 10)
	if got, _ := stepTime(t, reg); got != float64(t0.Unix())+1.5 {
		t.Errorf("after a step: %v, want %v", got, float64(t0.Unix())+1.5)
	}
	// A reconcile that took no step leaves the record as it was.
	r.Analysed(c, step, step.DeepCopy(), t0.Add(1700*time.Millisecond))
	if got, _ := stepTime(t, reg); got != float64(t0.Unix())+1.5 {
		t.Errorf("after a reconcile without a step: %v, want %v", got, float64(t0.Unix())+1.5)
	}
}

// A scrape between a step's status write and the cache's update must not
// pair the new step's time with the weight before it: serin replay reads
// the step's live weight from the scrape that first shows its time. The
// step's time appears with the weight it wrote.
func TestAStepsTimeIsExportedWithTheWeightItWrote(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	c := canary("podinfo", "podinfo", t0, 5)
	r, reg, cache := newRecorder(t, c)
	first := &flaggerv1.AnalysisRecord{Time: metav1.NewTime(t0), Decision: "Advance canary weight 5"}
	r.Analysed(c, nil, first, t0.Add(200*time.Millisecond))
	cacheRecord(t, cache, c, first, 5)

	// The next step is written; the cache still holds the first.
	next := &flaggerv1.AnalysisRecord{Time: metav1.NewTime(t0.Add(2 * time.Second)), Decision: "Advance canary weight 10"}
	r.Analysed(c, first, next, t0.Add(2300*time.Millisecond))
	if got, _ := stepTime(t, reg); got != float64(t0.Unix())+0.2 {
		t.Errorf("cache behind the write: step time %v, want the first step's %v", got, float64(t0.Unix())+0.2)
	}
	cacheRecord(t, cache, c, next, 10)
	if got, _ := stepTime(t, reg); got != float64(t0.Unix())+2.3 {
		t.Errorf("cache caught up: step time %v, want %v", got, float64(t0.Unix())+2.3)
	}
	want := `
# HELP flagger_canary_weight Share of traffic, in percent, on the primary and the canary workload.
# TYPE flagger_canary_weight gauge
flagger_canary_weight{namespace="test",workload="podinfo"} 10
flagger_canary_weight{namespace="test",workload="podinfo-primary"} 90
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "flagger_canary_weight"); err != nil {
		t.Error(err)
	}

	// After Forget (the canary deleted and made again), a record the
	// process did not see step has no time to export.
	r.Forget("test", "podinfo")
	if got, ok := stepTime(t, reg); ok {
		t.Errorf("forgotten step exported as %v", got)
	}
}

// cacheRecord makes the cache hold the status a step wrote.
func cacheRecord(t *testing.T, cache client.Client, c *flaggerv1.Canary, record *flaggerv1.AnalysisRecord, weight int) {
	t.Helper()
	c.Status.LastAnalysis, c.Status.CanaryWeight = record.DeepCopy(), weight
	if err := cache.Update(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// stepTime gathers serin_canary_last_analysis_timestamp_seconds of the
// canary podinfo; false when it is not exported.
func stepTime(t *testing.T, reg *prometheus.Registry) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != "serin_canary_last_analysis_timestamp_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}
