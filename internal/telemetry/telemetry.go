// Package telemetry exports the operator's Prometheus metrics, under the
// names and labels Flagger uses so existing dashboards and alerts work:
//
//	flagger_info{version, mesh_provider}                 1
//	flagger_canary_total{namespace}                      canaries per namespace
//	flagger_canary_status{name, namespace}               0 progressing, 1 ok, 2 failed
//	flagger_canary_weight{workload, namespace}           traffic share of primary and canary
//	flagger_canary_duration_seconds{name, namespace}     time taken by each analysis step
//	flagger_canary_metric_analysis{name, namespace, metric} last measured value
//	flagger_canary_successes_total{name, namespace}      promotions
//	flagger_canary_failures_total{name, namespace}       rollbacks
//	serin_notifications_total{kind, result}              event deliveries: delivered, failed or dropped
//	serin_canary_last_analysis_timestamp_seconds{name, namespace}
//	                                                     time of the last analysis step, to the millisecond; 0 when a release has none yet
//	serin_step_lateness_seconds                          how long after it was due each analysis step ran
//
// The per-canary gauges are computed from the informer cache at scrape
// time, so they are right after a restart without replaying history; the
// series of a deleted canary are removed (Forget). A workload released by
// two canaries (the second is refused) is reported once, for its holder.
// A step's time is exported only once the cache holds the status the step
// wrote, so one scrape never pairs a new step with the weight before it.
package telemetry

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
)

// Recorder holds the event-driven metrics.
type Recorder struct {
	duration      *prometheus.HistogramVec
	metricValue   *prometheus.GaugeVec
	successes     *prometheus.CounterVec
	failures      *prometheus.CounterVec
	canaryGauges  *canaryCollector
	providerGauge *prometheus.GaugeVec
	notifications *prometheus.CounterVec
	lateness      prometheus.Histogram
}

// New creates the metrics and registers them with reg. reader lists
// canaries for the gauges computed at scrape time.
func New(reg prometheus.Registerer, reader client.Reader, version, meshProvider string) (*Recorder, error) {
	r := &Recorder{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "flagger_canary_duration_seconds", Help: "Seconds taken by each analysis step, webhooks and queries included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 8),
		}, []string{"name", "namespace"}),
		metricValue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flagger_canary_metric_analysis", Help: "Last value measured for each analysis metric.",
		}, []string{"name", "namespace", "metric"}),
		successes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flagger_canary_successes_total", Help: "Canary releases promoted.",
		}, []string{"name", "namespace"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flagger_canary_failures_total", Help: "Canary releases rolled back.",
		}, []string{"name", "namespace"}),
		providerGauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flagger_info", Help: "Operator version and default mesh provider.",
		}, []string{"version", "mesh_provider"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "serin_notifications_total", Help: "Event deliveries by sink kind and result: delivered, failed or dropped (queue full).",
		}, []string{"kind", "result"}),
		// One series for the fleet, not one per canary: it answers
		// whether the operator keeps up, at any number of canaries.
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "serin_step_lateness_seconds",
			Help:    "Seconds between when an analysis step was due (an interval after the previous step ran) and when it ran; a step held back by a gate (a workload not ready) is late too.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		canaryGauges: &canaryCollector{reader: reader, steps: map[[2]string][]stepStamp{}},
	}
	r.providerGauge.WithLabelValues(version, meshProvider).Set(1)
	for _, c := range []prometheus.Collector{r.duration, r.metricValue, r.successes, r.failures, r.providerGauge, r.notifications, r.lateness, r.canaryGauges} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Transition counts a release that just ended.
func (r *Recorder) Transition(c *flaggerv1.Canary, previous flaggerv1.CanaryPhase) {
	if r == nil || previous == c.Status.Phase {
		return
	}
	switch c.Status.Phase {
	case flaggerv1.CanaryPhaseSucceeded:
		r.successes.WithLabelValues(c.Name, c.Namespace).Inc()
	case flaggerv1.CanaryPhaseFailed:
		r.failures.WithLabelValues(c.Name, c.Namespace).Inc()
	default:
		return
	}
}

// ObserveStep records how long one analysis step took.
func (r *Recorder) ObserveStep(c *flaggerv1.Canary, d time.Duration) {
	if r == nil {
		return
	}
	r.duration.WithLabelValues(c.Name, c.Namespace).Observe(d.Seconds())
}

// StepLate records how long after it was due an analysis step ran.
func (r *Recorder) StepLate(d time.Duration) {
	if r == nil {
		return
	}
	r.lateness.Observe(d.Seconds())
}

// Analysed records when a canary's analysis step ran (at, the wall clock
// when it started its checks, to the millisecond) if the step changed
// status.lastAnalysis: `serin replay` takes each new value as one step
// the operator took and asks Prometheus as of it. The status keeps the
// step's time truncated to the second, so it is kept here as well, and
// exported once the cache holds after. 0 while there is no record (before
// a release's first step).
func (r *Recorder) Analysed(c *flaggerv1.Canary, before, after *flaggerv1.AnalysisRecord, at time.Time) {
	if r == nil || after == nil || analysis.SameStep(before, after) {
		return
	}
	r.canaryGauges.stepped(c.Namespace, c.Name, stepStamp{record: after.Time.Unix(), decision: after.Decision, at: float64(at.UnixMilli()) / 1000})
}

// MetricResults records the values of an analysis run.
func (r *Recorder) MetricResults(c *flaggerv1.Canary, results []analysis.MetricResult) {
	if r == nil {
		return
	}
	for _, m := range results {
		if v, err := strconv.ParseFloat(m.Value, 64); err == nil {
			r.metricValue.WithLabelValues(c.Name, c.Namespace, m.Name).Set(v)
		}
	}
}

// Forget removes the series of a deleted canary.
func (r *Recorder) Forget(namespace, name string) {
	if r == nil {
		return
	}
	labels := prometheus.Labels{"name": name, "namespace": namespace}
	r.duration.DeletePartialMatch(labels)
	r.metricValue.DeletePartialMatch(labels)
	r.canaryGauges.forget(namespace, name)
	r.successes.DeletePartialMatch(labels)
	r.failures.DeletePartialMatch(labels)
}

// Delivered counts an attempted event delivery (notify.Metrics).
func (r *Recorder) Delivered(kind string, err error) {
	if r == nil {
		return
	}
	result := "delivered"
	if err != nil {
		result = "failed"
	}
	r.notifications.WithLabelValues(kind, result).Inc()
}

// Dropped counts an event delivery never attempted (notify.Metrics).
func (r *Recorder) Dropped(kind string) {
	if r == nil {
		return
	}
	r.notifications.WithLabelValues(kind, "dropped").Inc()
}

// canaryCollector computes the per-canary gauges from the cache.
type canaryCollector struct {
	reader client.Reader

	mu sync.Mutex
	// steps holds the last few step times of each canary, newest last.
	steps map[[2]string][]stepStamp
}

// stepStamp is one analysis step: the record it wrote (its time, to the
// second, and decision) and when it ran, to the millisecond.
type stepStamp struct {
	record   int64
	decision string
	at       float64
}

// stampsKept bounds the step times kept per canary: enough for a cache
// a few steps behind the writes.
const stampsKept = 3

var (
	totalDesc        = prometheus.NewDesc("flagger_canary_total", "Number of canaries per namespace.", []string{"namespace"}, nil)
	statusDesc       = prometheus.NewDesc("flagger_canary_status", "Canary status: 0 progressing, 1 ok, 2 failed.", []string{"name", "namespace"}, nil)
	weightDesc       = prometheus.NewDesc("flagger_canary_weight", "Share of traffic, in percent, on the primary and the canary workload.", []string{"workload", "namespace"}, nil)
	lastAnalysisDesc = prometheus.NewDesc("serin_canary_last_analysis_timestamp_seconds", "Unix time of the canary's last analysis step, to the millisecond; 0 before the first step of a release.", []string{"name", "namespace"}, nil)
)

func (cc *canaryCollector) stepped(namespace, name string, s stepStamp) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	key := [2]string{namespace, name}
	stamps := append(cc.steps[key], s)
	if len(stamps) > stampsKept {
		stamps = stamps[len(stamps)-stampsKept:]
	}
	cc.steps[key] = stamps
}

func (cc *canaryCollector) forget(namespace, name string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	delete(cc.steps, [2]string{namespace, name})
}

// lastAnalysis is the time of the step that wrote c's cached record: 0
// without a record; not known (false) when the step ran before this
// process started or the cache lags the newest steps kept.
func (cc *canaryCollector) lastAnalysis(c *flaggerv1.Canary) (float64, bool) {
	la := c.Status.LastAnalysis
	if la == nil {
		return 0, true
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	stamps := cc.steps[[2]string{c.Namespace, c.Name}]
	for i := len(stamps) - 1; i >= 0; i-- {
		if stamps[i].record == la.Time.Unix() && stamps[i].decision == la.Decision {
			return stamps[i].at, true
		}
	}
	return 0, false
}

func (cc *canaryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- totalDesc
	ch <- statusDesc
	ch <- weightDesc
	ch <- lastAnalysisDesc
}

func (cc *canaryCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list flaggerv1.CanaryList
	if err := cc.reader.List(ctx, &list); err != nil {
		return
	}
	perNS := map[string]int{}
	byTarget := map[[2]string][]flaggerv1.Canary{}
	for _, c := range list.Items {
		perNS[c.Namespace]++
		ch <- prometheus.MustNewConstMetric(statusDesc, prometheus.GaugeValue, statusValue(c.Status.Phase), c.Name, c.Namespace)
		if at, ok := cc.lastAnalysis(&c); ok {
			ch <- prometheus.MustNewConstMetric(lastAnalysisDesc, prometheus.GaugeValue, at, c.Name, c.Namespace)
		}
		key := [2]string{c.Namespace, c.Spec.TargetRef.Name}
		byTarget[key] = append(byTarget[key], c)
	}
	for _, canaries := range byTarget {
		c := analysis.Holder(canaries)
		target := c.Spec.TargetRef.Name
		ch <- prometheus.MustNewConstMetric(weightDesc, prometheus.GaugeValue, float64(100-c.Status.CanaryWeight), target+"-primary", c.Namespace)
		ch <- prometheus.MustNewConstMetric(weightDesc, prometheus.GaugeValue, float64(c.Status.CanaryWeight), target, c.Namespace)
	}
	for ns, n := range perNS {
		ch <- prometheus.MustNewConstMetric(totalDesc, prometheus.GaugeValue, float64(n), ns)
	}
}

func statusValue(p flaggerv1.CanaryPhase) float64 {
	switch p {
	case flaggerv1.CanaryPhaseFailed:
		return 2
	case flaggerv1.CanaryPhaseInitialized, flaggerv1.CanaryPhaseSucceeded:
		return 1
	}
	return 0
}
