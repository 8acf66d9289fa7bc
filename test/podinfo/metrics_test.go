package podinfo

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads h's /metrics: the sample count of every
// http_request_duration_seconds series, by its labels written as
// name=value pairs sorted by name.
func scrape(t *testing.T, h http.Handler) map[string]uint64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics answered %d: %s", rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	f, ok := families["http_request_duration_seconds"]
	if !ok {
		return out
	}
	if f.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("http_request_duration_seconds is a %s, want a histogram", f.GetType())
	}
	for _, m := range f.GetMetric() {
		var labels []string
		for _, l := range m.GetLabel() {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(labels)
		out[strings.Join(labels, ",")] = m.GetHistogram().GetSampleCount()
	}
	return out
}

func TestMetricsCountRequestsPerPodByRoutePatternAndStatus(t *testing.T) {
	h := (&Server{Version: "dev"}).Handler()
	send := func(method, path, namespace, pod string) {
		req := httptest.NewRequest(method, path, nil)
		if pod != "" {
			req.Header.Set(NamespaceHeader, namespace)
			req.Header.Set(PodHeader, pod)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	const canary, primary = "podinfo-7f8b5-x2x4z", "podinfo-primary-6c7d9-abcde"
	send("GET", "/", "test", canary)
	send("GET", "/", "test", canary)
	send("GET", "/status/500", "test", canary)
	send("GET", "/status/503", "test", canary)
	send("POST", "/status/200", "test", primary)
	send("BREW", "/delay/0", "test", primary)
	send("GET", "/version", "other", primary)
	// The harness's own requests and unknown paths are not measured.
	send("GET", "/healthz", "test", canary)
	send("GET", "/metrics", "test", canary)
	send("GET", "/nothing/here", "test", canary)

	got := scrape(t, h)

	series := func(ns, pod, method, path, status string) string {
		return "kubernetes_namespace=" + ns + ",kubernetes_pod_name=" + pod + ",method=" + method + ",path=" + path + ",status=" + status
	}
	want := map[string]uint64{
		series("test", canary, "GET", "/", "200"):                   2,
		series("test", canary, "GET", "/status/{code}", "500"):      1,
		series("test", canary, "GET", "/status/{code}", "503"):      1,
		series("test", primary, "POST", "/status/{code}", "200"):    1,
		series("test", primary, "other", "/delay/{seconds}", "200"): 1,
		series("other", primary, "GET", "/version", "200"):          1,
	}
	if len(got) != len(want) {
		t.Errorf("%d series, want %d:\n%v", len(got), len(want), got)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("series {%s} counted %d requests, want %d", k, got[k], n)
		}
	}
}

func TestMetricsHistogramIsInSeconds(t *testing.T) {
	h := (&Server{Version: "dev"}).Handler()
	req := httptest.NewRequest(http.MethodGet, "/delay/0.03", nil)
	req.Header.Set(NamespaceHeader, "test")
	req.Header.Set(PodHeader, "podinfo-1-a")
	h.ServeHTTP(httptest.NewRecorder(), req)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	// A request of at least 30 ms is above the 0.025 s bucket (it would
	// be within it in milliseconds), and the buckets reach 10 s.
	const labels = `kubernetes_namespace="test",kubernetes_pod_name="podinfo-1-a",method="GET",path="/delay/{seconds}",status="200"`
	for _, line := range []string{
		`http_request_duration_seconds_bucket{` + labels + `,le="0.025"} 0`,
		`http_request_duration_seconds_bucket{` + labels + `,le="10"} `,
		`http_request_duration_seconds_bucket{` + labels + `,le="+Inf"} 1`,
	} {
		if !strings.Contains(body, line) {
			t.Errorf("/metrics lacks\n%s\nin\n%s", line, body)
		}
	}
}

func TestHeadersHidesTheEmulatorsHeaders(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/headers", nil)
	for _, h := range []string{PodHeader, ImageHeader, NamespaceHeader} {
		req.Header.Set(h, "x")
	}
	rec := httptest.NewRecorder()
	(&Server{}).Handler().ServeHTTP(rec, req)
	if body := rec.Body.String(); strings.Contains(body, "X-Emulator") {
		t.Errorf("/headers shows the emulator's headers: %s", body)
	}
}
