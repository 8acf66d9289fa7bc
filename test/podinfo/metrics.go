package podinfo

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// requestMetrics is podinfo's http_request_duration_seconds: a histogram
// in seconds labelled method, path (the route's pattern, never the raw
// URL) and status, as podinfo exports it.
//
// In a cluster each pod exports its own series, and Prometheus'
// kubernetes-pods relabeling adds kubernetes_namespace and
// kubernetes_pod_name. Here one process stands in for every pod, so it
// writes those two labels itself, from the pod the mesh emulator names in
// PodHeader and NamespaceHeader. That is what Flagger's HTTP observer, and
// Serin's built-in gatewayapi:v1 and kubernetes metrics, read.
type requestMetrics struct {
	registry *prometheus.Registry
	duration *prometheus.HistogramVec
}

func newRequestMetrics() *requestMetrics {
	m := &requestMetrics{
		registry: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Seconds spent serving HTTP requests.",
			Buckets: prometheus.DefBuckets,
		}, []string{"kubernetes_namespace", "kubernetes_pod_name", "method", "path", "status"}),
	}
	m.registry.MustRegister(m.duration)
	return m
}

// handler serves the registry in the Prometheus text format.
func (m *requestMetrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// instrument measures every request h serves under path, the route's
// bounded pattern.
func (m *requestMetrics) instrument(path string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &StatusRecorder{ResponseWriter: w, Code: http.StatusOK}
		h(rec, r)
		m.duration.WithLabelValues(r.Header.Get(NamespaceHeader), r.Header.Get(PodHeader),
			methodLabel(r.Method), path, strconv.Itoa(rec.Code)).Observe(time.Since(start).Seconds())
	}
}

// methodLabel keeps the method label bounded: the routes that take any
// method would otherwise make a series of every word a client sends.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// StatusRecorder remembers the status code a handler answers with: the
// one it sets, or the one its first body write implies. The mesh
// emulator measures the requests it proxies with it too.
type StatusRecorder struct {
	http.ResponseWriter
	// Code is the status sent; start it at http.StatusOK.
	Code int
	// WroteHeader is true once the status line has gone out.
	WroteHeader bool
}

// WriteHeader records the first status code.
func (s *StatusRecorder) WriteHeader(code int) {
	if !s.WroteHeader {
		s.Code, s.WroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *StatusRecorder) Write(b []byte) (int, error) {
	s.WroteHeader = true
	return s.ResponseWriter.Write(b)
}

// Flush lets streamed responses through.
func (s *StatusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
