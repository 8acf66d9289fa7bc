package framework

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Traffic is what a pod serves, as an Envoy sidecar would report it.
type Traffic struct {
	// RPS is requests per second.
	RPS float64
	// SuccessRatio is the share of non-5xx responses, 0 to 1.
	SuccessRatio float64
	// Latency of every request.
	Latency time.Duration
}

// Exporter serves metrics whose values tests control, as the providers'
// built-in metrics read them: Envoy's
// envoy_cluster_upstream_rq{kubernetes_namespace, kubernetes_pod_name,
// envoy_response_code} and envoy_cluster_upstream_rq_time histogram (App
// Mesh), and the application's own http_request_duration_seconds
// histogram with status, method and path (Gateway API and kubernetes),
// from the same traffic. Counters grow with time at the configured rates,
// as real ones do.
type Exporter struct {
	Addr string

	mu   sync.Mutex
	pods map[podKey]*podSeries
	now  func() time.Time
}

type podKey struct{ namespace, pod string }

type podSeries struct {
	traffic   Traffic
	updated   time.Time
	ok, fail  float64
	latencyMS float64 // sum of latencies
	buckets   []float64
	// okBuckets and failBuckets are the http histogram's, per status, and
	// okSecs and failSecs its sums of latencies.
	okBuckets, failBuckets []float64
	okSecs, failSecs       float64
}

// envoyBuckets are the histogram's upper bounds in milliseconds.
var envoyBuckets = []float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

// httpBuckets are the application histogram's upper bounds in seconds,
// client_golang's defaults, as podinfo has them.
var httpBuckets = prometheus.DefBuckets

var (
	rqDesc   = prometheus.NewDesc("envoy_cluster_upstream_rq", "Requests by response code.", []string{"kubernetes_namespace", "kubernetes_pod_name", "envoy_response_code"}, nil)
	timeDesc = prometheus.NewDesc("envoy_cluster_upstream_rq_time", "Request time in milliseconds.", []string{"kubernetes_namespace", "kubernetes_pod_name"}, nil)
	httpDesc = prometheus.NewDesc("http_request_duration_seconds", "Seconds spent serving HTTP requests.", []string{"kubernetes_namespace", "kubernetes_pod_name", "method", "path", "status"}, nil)
)

// StartExporter serves /metrics on a free loopback port until the process
// ends.
func StartExporter() (*Exporter, error) {
	e := &Exporter{pods: map[podKey]*podSeries{}, now: time.Now}
	reg := prometheus.NewRegistry()
	reg.MustRegister(e)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.Addr = l.Addr().String()
	go func() { _ = http.Serve(l, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})) }()
	return e, nil
}

// SetTraffic changes what a pod serves from now on.
func (e *Exporter) SetTraffic(namespace, pod string, t Traffic) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := podKey{namespace, pod}
	s, ok := e.pods[k]
	if !ok {
		s = &podSeries{updated: e.now(), buckets: make([]float64, len(envoyBuckets)),
			okBuckets: make([]float64, len(httpBuckets)), failBuckets: make([]float64, len(httpBuckets))}
		e.pods[k] = s
	}
	s.advance(e.now())
	s.traffic = t
}

// advance adds the requests served since the last update.
func (s *podSeries) advance(now time.Time) {
	n := s.traffic.RPS * now.Sub(s.updated).Seconds()
	s.updated = now
	s.ok += n * s.traffic.SuccessRatio
	s.fail += n * (1 - s.traffic.SuccessRatio)
	ms := float64(s.traffic.Latency) / float64(time.Millisecond)
	s.latencyMS += n * ms
	for i, le := range envoyBuckets {
		if ms <= le {
			s.buckets[i] += n
		}
	}
	secs := s.traffic.Latency.Seconds()
	s.okSecs += n * s.traffic.SuccessRatio * secs
	s.failSecs += n * (1 - s.traffic.SuccessRatio) * secs
	for i, le := range httpBuckets {
		if secs <= le {
			s.okBuckets[i] += n * s.traffic.SuccessRatio
			s.failBuckets[i] += n * (1 - s.traffic.SuccessRatio)
		}
	}
}

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	ch <- rqDesc
	ch <- timeDesc
	ch <- httpDesc
}

// Collect implements prometheus.Collector.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	for k, s := range e.pods {
		s.advance(now)
		ch <- prometheus.MustNewConstMetric(rqDesc, prometheus.CounterValue, s.ok, k.namespace, k.pod, "200")
		ch <- prometheus.MustNewConstMetric(rqDesc, prometheus.CounterValue, s.fail, k.namespace, k.pod, "500")
		buckets := map[float64]uint64{}
		for i, le := range envoyBuckets {
			buckets[le] = uint64(s.buckets[i])
		}
		ch <- prometheus.MustNewConstHistogram(timeDesc, uint64(s.ok+s.fail), s.latencyMS, buckets, k.namespace, k.pod)
		for _, h := range []struct {
			status     string
			count, sum float64
			buckets    []float64
		}{{"200", s.ok, s.okSecs, s.okBuckets}, {"500", s.fail, s.failSecs, s.failBuckets}} {
			ch <- &floatHistogram{labels: prometheus.MakeLabelPairs(httpDesc, []string{k.namespace, k.pod, "GET", "/", h.status}),
				count: h.count, sum: h.sum, buckets: h.buckets}
		}
	}
}

// floatHistogram is one http_request_duration_seconds series with
// fractional counts, as the Envoy counters have: counts rounded to whole
// requests would make the success rate of a few hundred requests wander
// by a percentage point from the configured ratio.
type floatHistogram struct {
	labels     []*dto.LabelPair
	count, sum float64
	// buckets are the cumulative counts at httpBuckets.
	buckets []float64
}

func (h *floatHistogram) Desc() *prometheus.Desc { return httpDesc }

func (h *floatHistogram) Write(m *dto.Metric) error {
	m.Label = h.labels
	hist := &dto.Histogram{SampleCountFloat: &h.count, SampleSum: &h.sum}
	for i, le := range httpBuckets {
		hist.Bucket = append(hist.Bucket, &dto.Bucket{UpperBound: &le, CumulativeCountFloat: &h.buckets[i]})
	}
	m.Histogram = hist
	return nil
}
