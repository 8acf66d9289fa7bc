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
//
// The per-canary gauges are computed from the informer cache at scrape
// time, so they are right after a restart without replaying history.
package telemetry

import (
	"context"
	"strconv"
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
		canaryGauges: &canaryCollector{reader: reader},
	}
	r.providerGauge.WithLabelValues(version, meshProvider).Set(1)
	for _, c := range []prometheus.Collector{r.duration, r.metricValue, r.successes, r.failures, r.providerGauge, r.canaryGauges} {
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

// canaryCollector computes the per-canary gauges from the cache.
type canaryCollector struct{ reader client.Reader }

var (
	totalDesc  = prometheus.NewDesc("flagger_canary_total", "Number of canaries per namespace.", []string{"namespace"}, nil)
	statusDesc = prometheus.NewDesc("flagger_canary_status", "Canary status: 0 progressing, 1 ok, 2 failed.", []string{"name", "namespace"}, nil)
	weightDesc = prometheus.NewDesc("flagger_canary_weight", "Share of traffic, in percent, on the primary and the canary workload.", []string{"workload", "namespace"}, nil)
)

func (cc *canaryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- totalDesc
	ch <- statusDesc
	ch <- weightDesc
}

func (cc *canaryCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list flaggerv1.CanaryList
	if err := cc.reader.List(ctx, &list); err != nil {
		return
	}
	perNS := map[string]int{}
	for _, c := range list.Items {
		perNS[c.Namespace]++
		ch <- prometheus.MustNewConstMetric(statusDesc, prometheus.GaugeValue, statusValue(c.Status.Phase), c.Name, c.Namespace)
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
