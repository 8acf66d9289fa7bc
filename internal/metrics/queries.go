package metrics

import "fmt"

// The built-in metrics.
const (
	// RequestSuccessRate is the percentage of requests to the canary that
	// did not end in a 5xx response.
	RequestSuccessRate = "request-success-rate"
	// RequestDuration is the 99th percentile of the canary's request
	// duration, in milliseconds.
	RequestDuration = "request-duration"
)

// Built-in queries per provider, as query templates. They see the same
// functions as a MetricTemplate: namespace, target and interval.
const (
	// Envoy sidecar metrics. The pod-name regexp is anchored by PromQL, so
	// the pods of <target>-primary never match the canary target.
	envoySuccessRate = `sum(rate(envoy_cluster_upstream_rq{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",envoy_response_code!~"5.*"}[{{ interval }}])) / sum(rate(envoy_cluster_upstream_rq{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[{{ interval }}])) * 100`
	envoyDuration    = `histogram_quantile(0.99, sum(rate(envoy_cluster_upstream_rq_time_bucket{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[{{ interval }}])) by (le))`

	// Istio telemetry, as reported by the destination's sidecar.
	istioSuccessRate = `sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload=~"{{ target }}",response_code!~"5.*"}[{{ interval }}])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload=~"{{ target }}"}[{{ interval }}])) * 100`
	istioDuration    = `histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload=~"{{ target }}"}[{{ interval }}])) by (le))`

	// The application's own request histogram, as Flagger's HTTP observer
	// reads it for Gateway API and plain Kubernetes Services: there is no
	// sidecar, so the pods' http_request_duration_seconds (podinfo's, with
	// the labels Prometheus' kubernetes-pods relabeling adds) is measured.
	// It is in seconds; the duration is multiplied into milliseconds, the
	// unit of request-duration's threshold, as Flagger's observer does.
	httpSuccessRate = `sum(rate(http_request_duration_seconds_count{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",status!~"5.*"}[{{ interval }}])) / sum(rate(http_request_duration_seconds_count{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[{{ interval }}])) * 100`
	httpDuration    = `histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[{{ interval }}])) by (le)) * 1000`

	// Linkerd proxy metrics of inbound requests.
	linkerdSuccessRate = `sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",classification!="failure",direction="inbound"}[{{ interval }}])) / sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",direction="inbound"}[{{ interval }}])) * 100`
	linkerdDuration    = `histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{namespace="{{ namespace }}",deployment=~"{{ target }}",direction="inbound"}[{{ interval }}])) by (le))`
)

// builtinQueries maps a mesh provider to its built-in metric queries.
var builtinQueries = map[string]map[string]string{
	"appmesh":         {RequestSuccessRate: envoySuccessRate, RequestDuration: envoyDuration},
	"appmesh:v1beta2": {RequestSuccessRate: envoySuccessRate, RequestDuration: envoyDuration},
	"gatewayapi:v1":   {RequestSuccessRate: httpSuccessRate, RequestDuration: httpDuration},
	"kubernetes":      {RequestSuccessRate: httpSuccessRate, RequestDuration: httpDuration},
	"istio":           {RequestSuccessRate: istioSuccessRate, RequestDuration: istioDuration},
	"linkerd":         {RequestSuccessRate: linkerdSuccessRate, RequestDuration: linkerdDuration},
}

// builtinQuery returns the query template of a built-in metric for a mesh
// provider.
func builtinQuery(provider, metric string) (string, error) {
	q, ok := builtinQueries[provider][metric]
	if !ok {
		return "", fmt.Errorf("metric %s has no built-in query for provider %s; use a MetricTemplate (templateRef)", metric, provider)
	}
	return q, nil
}
