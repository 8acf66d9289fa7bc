package metrics

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/model"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/egress"
	"github.com/serin-dev/serin/internal/judge"
	"github.com/serin-dev/serin/internal/workload"
)

// Comparison is one compared metric over a window: what the canary and the
// primary did since the judge's previous look.
type Comparison struct {
	// Name of the metric.
	Name string
	// Kind is judge.ErrorRate or judge.Latency.
	Kind judge.Kind
	// AllowedDegradation is the metric's compare.allowedDegradation.
	AllowedDegradation string
	// Window holds both versions' counts (ErrorRate) or histograms
	// (Latency); meaningful only when Err is nil.
	Window judge.Window
	// Queries are the rendered PromQL, the canary's before the primary's.
	Queries []string
	// Message is the "Halt …" text users see when the comparison could not
	// be measured; empty otherwise.
	Message string
	// Err is set when a query could not be rendered or run.
	Err error
}

// Built-in comparison queries per provider: request and error counts for
// request-success-rate, the latency histogram for request-duration, over
// {{ window }} for {{ workload }} (the canary's or the primary's). The
// kubernetes provider has none: it does not split traffic, so the canary
// and the primary never serve the same requests over a window.
const (
	envoyRequests = `sum(increase(envoy_cluster_upstream_rq{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ workload }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[{{ window }}]))`
	envoyErrors   = `sum(increase(envoy_cluster_upstream_rq{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ workload }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",envoy_response_code=~"5.*"}[{{ window }}]))`
	envoyBuckets  = `sum(increase(envoy_cluster_upstream_rq_time_bucket{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ workload }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[{{ window }}])) by (le)`

	// The application's own series, as the threshold queries read them
	// for gatewayapi:v1 (see httpSuccessRate). Its buckets are in seconds.
	httpRequests = `sum(increase(http_request_duration_seconds_count{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ workload }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[{{ window }}]))`
	httpErrors   = `sum(increase(http_request_duration_seconds_count{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ workload }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",status=~"5.*"}[{{ window }}]))`
	httpBuckets  = `sum(increase(http_request_duration_seconds_bucket{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ workload }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[{{ window }}])) by (le)`

	istioRequests = `sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload=~"{{ workload }}"}[{{ window }}]))`
	istioErrors   = `sum(increase(istio_requests_total{reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload=~"{{ workload }}",response_code=~"5.*"}[{{ window }}]))`
	istioBuckets  = `sum(increase(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload=~"{{ workload }}"}[{{ window }}])) by (le)`

	linkerdRequests = `sum(increase(response_total{namespace="{{ namespace }}",deployment=~"{{ workload }}",direction="inbound"}[{{ window }}]))`
	linkerdErrors   = `sum(increase(response_total{namespace="{{ namespace }}",deployment=~"{{ workload }}",direction="inbound",classification="failure"}[{{ window }}]))`
	linkerdBuckets  = `sum(increase(response_latency_ms_bucket{namespace="{{ namespace }}",deployment=~"{{ workload }}",direction="inbound"}[{{ window }}])) by (le)`
)

// comparisonPlan is what a compared metric measures.
type comparisonPlan struct {
	flaggerv1.MetricTemplateComparison
	// bucketsToMs multiplies a histogram's bucket bounds into
	// milliseconds, so that a built-in latency's p99 reads in ms whatever
	// unit its series has; 0 keeps the series' unit (a template's).
	bucketsToMs float64
}

var (
	envoyComparisons = map[string]comparisonPlan{
		RequestSuccessRate: {MetricTemplateComparison: flaggerv1.MetricTemplateComparison{Kind: flaggerv1.CompareErrorRate, Requests: envoyRequests, Errors: envoyErrors}},
		RequestDuration:    {MetricTemplateComparison: flaggerv1.MetricTemplateComparison{Kind: flaggerv1.CompareLatency, Buckets: envoyBuckets}},
	}
	// builtinComparisons maps a mesh provider to the comparison queries of
	// its built-in metrics.
	builtinComparisons = map[string]map[string]comparisonPlan{
		"appmesh":         envoyComparisons,
		"appmesh:v1beta2": envoyComparisons,
		"gatewayapi:v1": {
			RequestSuccessRate: {MetricTemplateComparison: flaggerv1.MetricTemplateComparison{Kind: flaggerv1.CompareErrorRate, Requests: httpRequests, Errors: httpErrors}},
			RequestDuration:    {MetricTemplateComparison: flaggerv1.MetricTemplateComparison{Kind: flaggerv1.CompareLatency, Buckets: httpBuckets}, bucketsToMs: 1000},
		},
		"istio": {
			RequestSuccessRate: {MetricTemplateComparison: flaggerv1.MetricTemplateComparison{Kind: flaggerv1.CompareErrorRate, Requests: istioRequests, Errors: istioErrors}},
			RequestDuration:    {MetricTemplateComparison: flaggerv1.MetricTemplateComparison{Kind: flaggerv1.CompareLatency, Buckets: istioBuckets}},
		},
		"linkerd": {
			RequestSuccessRate: {MetricTemplateComparison: flaggerv1.MetricTemplateComparison{Kind: flaggerv1.CompareErrorRate, Requests: linkerdRequests, Errors: linkerdErrors}},
			RequestDuration:    {MetricTemplateComparison: flaggerv1.MetricTemplateComparison{Kind: flaggerv1.CompareLatency, Buckets: linkerdBuckets}},
		},
	}
)

// Compare measures every metric with compare over the window that ends
// now, for the canary's workload and the primary's, in the metrics'
// order; nil when there is none. provider is the canary's resolved mesh
// provider, which selects the built-in queries.
func (c *Checker) Compare(ctx context.Context, canary *flaggerv1.Canary, provider string, window time.Duration) []Comparison {
	analysis := canary.GetAnalysis()
	if analysis == nil {
		return nil
	}
	var out []Comparison
	for _, m := range analysis.Metrics {
		if m.Compare == nil {
			continue
		}
		cmp := c.compare(ctx, canary, provider, m, window)
		ctrl.LoggerFrom(ctx).V(1).Info("Metric compared", "metric", m.Name, "queries", cmp.Queries,
			"canary", cmp.Window.Canary.Counts, "primary", cmp.Window.Primary.Counts, "failed", cmp.Err != nil)
		out = append(out, cmp)
	}
	return out
}

// compare measures one metric for both versions.
func (c *Checker) compare(ctx context.Context, canary *flaggerv1.Canary, provider string, m flaggerv1.CanaryMetric, window time.Duration) Comparison {
	out := Comparison{Name: m.Name, AllowedDegradation: m.Compare.AllowedDegradation}
	queries, srv, err := c.comparePlan(ctx, canary, provider, m)
	if err != nil {
		out.Err = fmt.Errorf("metric %s of canary %s: %w", m.Name, canary, err)
		out.Message = failedMessage(canary.String(), m.Name, err)
		return out
	}
	out.Kind = judge.Kind(queries.Kind)
	vars := varsFor(canary, m)
	vars.Window = promDuration(window)
	for i, w := range []string{canary.Spec.TargetRef.Name, workload.PrimaryName(canary.Spec.TargetRef.Name)} {
		vars.Workload = w
		sample, rendered, err := c.measure(ctx, srv, m.Name, queries, vars)
		out.Queries = append(out.Queries, rendered...)
		if err != nil {
			out.Err = fmt.Errorf("compare metric %s of canary %s on %s: %w", m.Name, canary, redacted(srv.address), err)
			out.Message = fmt.Sprintf("Halt %s advancement %s query failed: %s", canary, m.Name, queryProblem(err))
			ctrl.LoggerFrom(ctx).Info("Metric comparison failed", "canary", canary.String(), "metric", m.Name,
				"error", egress.Sanitize(out.Err.Error(), logErrorLength))
			return out
		}
		if i == 0 {
			out.Window.Canary = sample
		} else {
			out.Window.Primary = sample
		}
	}
	return out
}

// comparePlan finds a compared metric's queries and their server: the
// provider's built-in ones, or the MetricTemplate's compare.
func (c *Checker) comparePlan(ctx context.Context, canary *flaggerv1.Canary, provider string, m flaggerv1.CanaryMetric) (comparisonPlan, server, error) {
	if m.TemplateRef == nil {
		q, ok := builtinComparisons[provider][m.Name]
		if !ok {
			return q, server{}, fmt.Errorf("metric %s has no built-in comparison for provider %s (it needs a provider that splits traffic between canary and primary); use a MetricTemplate with compare (templateRef)", m.Name, provider)
		}
		s, err := c.server(canary, "", false)
		return q, s, err
	}
	tmpl, err := c.template(ctx, canary, m.TemplateRef)
	if err != nil {
		return comparisonPlan{}, server{}, err
	}
	if tmpl.Spec.Compare == nil {
		return comparisonPlan{}, server{}, fmt.Errorf("metric template %s has no compare queries, which a metric with compare needs", client.ObjectKeyFromObject(tmpl))
	}
	s, err := c.templateServer(ctx, canary, tmpl)
	return comparisonPlan{MetricTemplateComparison: *tmpl.Spec.Compare}, s, err
}

// measure renders and runs one version's comparison queries. It returns
// the rendered queries run so far.
func (c *Checker) measure(ctx context.Context, srv server, name string, q comparisonPlan, vars queryVars) (judge.Sample, []string, error) {
	var sample judge.Sample
	var rendered []string
	run := func(text string) (model.Value, error) {
		promql, err := renderQuery(name, text, vars)
		if err != nil {
			return nil, err
		}
		rendered = append(rendered, promql)
		return queryValue(ctx, srv, promql, c.now())
	}
	if q.Kind == flaggerv1.CompareLatency {
		value, err := run(q.Buckets)
		if err == nil {
			sample.Latency, err = histogramOf(value)
		}
		if q.bucketsToMs != 0 {
			sample.Latency.Bounds = scaled(sample.Latency.Bounds, q.bucketsToMs)
		}
		return sample, rendered, err
	}
	value, err := run(q.Requests)
	if err == nil {
		sample.Counts.Requests, err = countOf(value)
	}
	if err != nil {
		return sample, rendered, err
	}
	if value, err = run(q.Errors); err == nil {
		sample.Counts.Errors, err = countOf(value)
	}
	return sample, rendered, err
}

// promDuration writes a window as a PromQL duration in whole seconds, at
// least one.
func promDuration(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 1 {
		s = 1
	}
	return fmt.Sprintf("%ds", s)
}

// scaled multiplies bucket bounds by factor, rounded to a nanosecond's
// worth of digits so that 0.005 s reads 5 ms, not 5.000000000000001.
func scaled(bounds []float64, factor float64) []float64 {
	out := make([]float64, len(bounds))
	for i, b := range bounds {
		out[i] = math.Round(b*factor*1e6) / 1e6
	}
	return out
}
