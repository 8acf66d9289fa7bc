package emulator

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// envoyBuckets are Envoy's default histogram bounds, in milliseconds.
var envoyBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// envoyMetrics are the sidecar metrics Serin's built-in App Mesh (and
// emulated Gateway API) queries read:
//
//	envoy_cluster_upstream_rq{kubernetes_namespace, kubernetes_pod_name, envoy_response_code}
//	envoy_cluster_upstream_rq_time_bucket{kubernetes_namespace, kubernetes_pod_name, le}
//
// labelled with the pod that served the request, as the pod's own Envoy
// sidecar reports it and Prometheus' pod discovery relabels it.
type envoyMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newEnvoyMetrics(reg prometheus.Registerer) *envoyMetrics {
	m := &envoyMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envoy_cluster_upstream_rq",
			Help: "Upstream requests by response code.",
		}, []string{"kubernetes_namespace", "kubernetes_pod_name", "envoy_response_code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "envoy_cluster_upstream_rq_time",
			Help:    "Upstream request time in milliseconds.",
			Buckets: envoyBuckets,
		}, []string{"kubernetes_namespace", "kubernetes_pod_name"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *envoyMetrics) observe(ep endpoint, code int, d time.Duration) {
	m.requests.WithLabelValues(ep.namespace, ep.pod, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(ep.namespace, ep.pod).Observe(float64(d) / float64(time.Millisecond))
}
