package framework

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The application histogram counts the same traffic as Envoy's series:
// the built-in metrics of gatewayapi:v1 and kubernetes read it.
func TestTheExporterServesTheApplicationHistogramOfTheSameTraffic(t *testing.T) {
	e, err := StartExporter()
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(1700000000, 0)
	e.now = func() time.Time { return clock }
	e.SetTraffic("test", "podinfo-7f8b5-x2x4z", Traffic{RPS: 10, SuccessRatio: 0.8, Latency: 30 * time.Millisecond})
	clock = clock.Add(10 * time.Second)

	resp, err := http.Get("http://" + e.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	// 100 requests of 30 ms: 80 answered 200, 20 answered 500.
	want := map[string]float64{"200": 80, "500": 20}
	got := map[string]float64{}
	for _, m := range families["http_request_duration_seconds"].GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		if l["kubernetes_namespace"] != "test" || l["kubernetes_pod_name"] != "podinfo-7f8b5-x2x4z" {
			t.Errorf("series labelled %v, want the pod's namespace and name", l)
		}
		h := m.GetHistogram()
		// The parser keeps whole counts as integers, others as floats.
		count := h.GetSampleCountFloat() + float64(h.GetSampleCount())
		got[l["status"]] = count
		for _, b := range h.GetBucket() {
			// 30 ms is above the 0.025 s bucket and within 0.05 s.
			within := b.GetUpperBound() >= 0.05
			if inBucket := b.GetCumulativeCountFloat() + float64(b.GetCumulativeCount()); (inBucket == count) != within {
				t.Errorf("status %s bucket le=%v holds %v of %v requests of 30 ms", l["status"], b.GetUpperBound(), inBucket, count)
			}
		}
	}
	// The counts are fractional, as the traffic's rates make them; the
	// success rate is exact, not off by a rounded request.
	if len(got) != len(want) || math.Abs(got["200"]-want["200"]) > 1e-9 || math.Abs(got["500"]-want["500"]) > 1e-9 {
		t.Errorf("requests by status %v, want %v", got, want)
	}
}

// Prometheus scrapes the application histogram and logs the queries it
// runs, which is how a test sees what the operator asked.
func TestPrometheusScrapesTheApplicationHistogramAndLogsTheQueries(t *testing.T) {
	e, err := StartExporter()
	if err != nil {
		t.Fatal(err)
	}
	e.SetTraffic("test", "podinfo-7f8b5-x2x4z", Traffic{RPS: 10, SuccessRatio: 1, Latency: 30 * time.Millisecond})
	prom, err := StartPrometheus(t.TempDir(), e.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prom.Stop)
	const query = `http_request_duration_seconds_count{kubernetes_namespace="test",kubernetes_pod_name="podinfo-7f8b5-x2x4z",status="200"}`
	if err := prom.WaitForResult(context.Background(), query, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, "the query in Prometheus' query log", func(context.Context) (bool, string) {
		queries, err := prom.Queries()
		if err != nil {
			return false, err.Error()
		}
		return slices.Contains(queries, query), fmt.Sprintf("%d queries logged", len(queries))
	})
}
