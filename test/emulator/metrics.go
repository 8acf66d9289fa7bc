package emulator

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// envoyBuckets are Envoy's default histogram bounds, in milliseconds; Istio's
// request duration histogram uses the same.
var envoyBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// linkerdBuckets are the Linkerd proxy's response latency bounds, in
// milliseconds.
var linkerdBuckets = []float64{1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000}

// meshMetrics are the proxy metrics Serin's built-in queries read, for
// each emulated mesh, recorded for every request as the serving pod's own
// proxy would report it (the emulator stands in for all the meshes at
// once):
//
//	envoy_cluster_upstream_rq{kubernetes_namespace, kubernetes_pod_name, envoy_response_code}
//	envoy_cluster_upstream_rq_time_bucket{kubernetes_namespace, kubernetes_pod_name, le}
//	istio_requests_total{reporter="destination", destination_workload_namespace, destination_workload, response_code}
//	istio_request_duration_milliseconds_bucket{reporter="destination", destination_workload_namespace, destination_workload, response_code, le}
//	response_total{direction="inbound", namespace, deployment, pod, status_code, classification}
//	response_latency_ms_bucket{direction="inbound", namespace, deployment, pod, le}
//
// App Mesh (and the emulated Gateway API) queries read the Envoy series,
// Istio's the istio_* ones and Linkerd's the response_* ones.
type meshMetrics struct {
	envoyRequests    *prometheus.CounterVec
	envoyDuration    *prometheus.HistogramVec
	istioRequests    *prometheus.CounterVec
	istioDuration    *prometheus.HistogramVec
	linkerdResponses *prometheus.CounterVec
	linkerdLatency   *prometheus.HistogramVec
}

func newMeshMetrics(reg prometheus.Registerer) *meshMetrics {
	istioLabels := []string{"reporter", "destination_workload_namespace", "destination_workload", "response_code"}
	m := &meshMetrics{
		envoyRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envoy_cluster_upstream_rq",
			Help: "Upstream requests by response code (Envoy).",
		}, []string{"kubernetes_namespace", "kubernetes_pod_name", "envoy_response_code"}),
		envoyDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "envoy_cluster_upstream_rq_time",
			Help:    "Upstream request time in milliseconds (Envoy).",
			Buckets: envoyBuckets,
		}, []string{"kubernetes_namespace", "kubernetes_pod_name"}),
		istioRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "istio_requests_total",
			Help: "Requests by response code (Istio standard metrics).",
		}, istioLabels),
		istioDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "istio_request_duration_milliseconds",
			Help:    "Request duration in milliseconds (Istio standard metrics).",
			Buckets: envoyBuckets,
		}, istioLabels),
		linkerdResponses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "response_total",
			Help: "Responses by status code and classification (Linkerd proxy).",
		}, []string{"direction", "namespace", "deployment", "pod", "status_code", "classification"}),
		linkerdLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "response_latency_ms",
			Help:    "Response latency in milliseconds (Linkerd proxy).",
			Buckets: linkerdBuckets,
		}, []string{"direction", "namespace", "deployment", "pod"}),
	}
	reg.MustRegister(m.envoyRequests, m.envoyDuration, m.istioRequests, m.istioDuration, m.linkerdResponses, m.linkerdLatency)
	return m
}

// observe records one request answered by the pod ep.
func (m *meshMetrics) observe(ep endpoint, code int, d time.Duration) {
	ms := float64(d) / float64(time.Millisecond)
	status := strconv.Itoa(code)
	m.envoyRequests.WithLabelValues(ep.namespace, ep.pod, status).Inc()
	m.envoyDuration.WithLabelValues(ep.namespace, ep.pod).Observe(ms)
	m.istioRequests.WithLabelValues("destination", ep.namespace, ep.deployment, status).Inc()
	m.istioDuration.WithLabelValues("destination", ep.namespace, ep.deployment, status).Observe(ms)
	// Linkerd classifies an HTTP response as a failure by its 5xx status.
	class := "success"
	if code >= 500 {
		class = "failure"
	}
	m.linkerdResponses.WithLabelValues("inbound", ep.namespace, ep.deployment, ep.pod, status, class).Inc()
	m.linkerdLatency.WithLabelValues("inbound", ep.namespace, ep.deployment, ep.pod).Observe(ms)
}
