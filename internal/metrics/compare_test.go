package metrics

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/egress"
	"github.com/serin-dev/serin/internal/judge"
)

// scriptedPrometheus answers /api/v1/query with reply(query) and records
// the queries.
type scriptedPrometheus struct {
	reply   func(query string) string
	mu      sync.Mutex
	queries []string
}

func newScriptedPrometheus(t *testing.T, reply func(string) string) (*scriptedPrometheus, string) {
	p := &scriptedPrometheus{reply: reply}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		if err := r.ParseForm(); err == nil && r.Form.Get("query") != "" {
			q = r.Form
		}
		p.mu.Lock()
		p.queries = append(p.queries, q.Get("query"))
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(p.reply(q.Get("query"))))
	}))
	t.Cleanup(srv.Close)
	return p, srv.URL
}

// vectorReply is a vector of one unlabelled sample.
func vectorReply(v float64) string {
	return fmt.Sprintf(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"%v"]}]}}`, v)
}

// bucketsReply is a vector of cumulative buckets labelled le.
func bucketsReply(le []string, cumulative []float64) string {
	var parts []string
	for i := range le {
		parts = append(parts, fmt.Sprintf(`{"metric":{"le":%q},"value":[1700000000,"%v"]}`, le[i], cumulative[i]))
	}
	return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(parts, ",") + `]}}`
}

// compared is a canary with the judge's two built-in comparisons.
func compared(address string) *flaggerv1.Canary {
	return newCanary("podinfo", withMetricsServer(address), withMetrics(
		flaggerv1.CanaryMetric{Name: RequestSuccessRate, Compare: &flaggerv1.MetricComparison{AllowedDegradation: "+0.5pp"}},
		flaggerv1.CanaryMetric{Name: RequestDuration, Compare: &flaggerv1.MetricComparison{AllowedDegradation: "+10%"}},
		flaggerv1.CanaryMetric{Name: "cpu", Query: "vector(1)", ThresholdRange: &flaggerv1.CanaryThresholdRange{Max: ptr(5)}},
	))
}

func TestEveryProvidersBuiltInComparisonsMeasureTheCanaryAndThePrimaryOverTheWindow(t *testing.T) {
	cases := map[string]struct {
		// provider is the canary's mesh provider.
		provider string
		// canaryWorkload and primaryWorkload are how each version's
		// series are selected in the provider's metrics.
		canaryWorkload, primaryWorkload string
		// metricNames are the provider's request counter and histogram.
		metricNames []string
		// le are the histogram's bucket labels for 100 ms, 500 ms and
		// +Inf, in the unit of the provider's series; ms when empty.
		le []string
	}{
		"appmesh": {"appmesh", `kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"`, `kubernetes_pod_name=~"podinfo-primary-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"`,
			[]string{"envoy_cluster_upstream_rq{", "envoy_cluster_upstream_rq_time_bucket{"}, nil},
		"appmesh:v1beta2": {"appmesh:v1beta2", `kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"`, `kubernetes_pod_name=~"podinfo-primary-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"`,
			[]string{"envoy_cluster_upstream_rq{", "envoy_cluster_upstream_rq_time_bucket{"}, nil},
		"gatewayapi:v1 reads the application's histogram in seconds": {"gatewayapi:v1", `kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"`, `kubernetes_pod_name=~"podinfo-primary-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"`,
			[]string{"http_request_duration_seconds_count{", "http_request_duration_seconds_bucket{"}, []string{"0.1", "0.5", "+Inf"}},
		"istio": {"istio", `destination_workload=~"podinfo"`, `destination_workload=~"podinfo-primary"`,
			[]string{"istio_requests_total{", "istio_request_duration_milliseconds_bucket{"}, nil},
		"linkerd": {"linkerd", `deployment=~"podinfo"`, `deployment=~"podinfo-primary"`,
			[]string{"response_total{", "response_latency_ms_bucket{"}, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			le := tc.le
			if le == nil {
				le = []string{"100", "500", "+Inf"}
			}
			prom, address := newScriptedPrometheus(t, func(q string) string {
				primary := strings.Contains(q, tc.primaryWorkload)
				switch {
				case strings.Contains(q, "by (le)") && primary:
					return bucketsReply(le, []float64{80, 98, 100})
				case strings.Contains(q, "by (le)"):
					return bucketsReply([]string{le[1], le[0], le[2]}, []float64{9, 5, 10})
				case strings.Contains(q, `"5.*"`) || strings.Contains(q, `"failure"`):
					return vectorReply(map[bool]float64{true: 2, false: 1}[primary])
				default:
					return vectorReply(map[bool]float64{true: 1000, false: 50}[primary])
				}
			})
			checker := &Checker{Reader: newReader(t), Now: func() time.Time { return now }}

			got := checker.Compare(context.Background(), compared(address), tc.provider, 62500*time.Millisecond)

			if len(got) != 2 {
				t.Fatalf("%d comparisons, want the two compared metrics only", len(got))
			}
			errRate, latency := got[0], got[1]
			for _, c := range got {
				if c.Err != nil {
					t.Fatalf("%s: %v", c.Name, c.Err)
				}
			}
			wantCounts := judge.Window{Canary: judge.Sample{Counts: judge.Counts{Requests: 50, Errors: 1}}, Primary: judge.Sample{Counts: judge.Counts{Requests: 1000, Errors: 2}}}
			if errRate.Kind != judge.ErrorRate || errRate.Window.Canary.Counts != wantCounts.Canary.Counts || errRate.Window.Primary.Counts != wantCounts.Primary.Counts {
				t.Errorf("error rate %s %+v, want errorRate %+v", errRate.Kind, errRate.Window, wantCounts)
			}
			wantCanary := judge.Histogram{Bounds: []float64{100, 500}, Counts: []float64{5, 4, 1}}
			if latency.Kind != judge.Latency || fmt.Sprint(latency.Window.Canary.Latency) != fmt.Sprint(wantCanary) {
				t.Errorf("latency %s canary %+v, want latency %+v (buckets sorted by le, in ms)", latency.Kind, latency.Window.Canary.Latency, wantCanary)
			}
			if len(prom.queries) != 6 {
				t.Errorf("%d queries, want 6 (requests, errors and buckets of both versions): %q", len(prom.queries), prom.queries)
			}
			// requests and errors of the canary, then of the primary; then
			// the buckets of each.
			primaryQueries := map[int]bool{2: true, 3: true, 5: true}
			for i, q := range prom.queries {
				workload := tc.canaryWorkload
				if primaryQueries[i] {
					workload = tc.primaryWorkload
				}
				if !strings.Contains(q, workload) || !strings.Contains(q, "[62s]") || !strings.Contains(q, "increase(") {
					t.Errorf("query %d %s: want increase() over [62s] of %s", i, q, workload)
				}
				if !strings.Contains(q, tc.metricNames[0]) && !strings.Contains(q, tc.metricNames[1]) {
					t.Errorf("query %d %s: want one of %q", i, q, tc.metricNames)
				}
			}
		})
	}
}

func TestComparisonsThatCannotBeMeasuredHaltWithAMessageNamingTheMetric(t *testing.T) {
	const counts = `sum(increase(http_requests_total{pod=~"{{ workload }}-.*"}[{{ window }}]))`
	withCompare := func(kind string) *flaggerv1.MetricTemplate {
		tmpl := newTemplate("lat", "", "")
		tmpl.Spec.Compare = &flaggerv1.MetricTemplateComparison{Kind: kind, Buckets: counts, Requests: counts, Errors: counts}
		return tmpl
	}
	cases := map[string]struct {
		// provider is the canary's mesh provider.
		provider string
		// metric is the compared metric.
		metric flaggerv1.CanaryMetric
		// templates are in the cache.
		templates []client.Object
		// reply is Prometheus's answer to every query.
		reply string
		// want is the comparison's message.
		want string
	}{
		"the kubernetes provider has no built-in comparison": {
			provider: "kubernetes", metric: flaggerv1.CanaryMetric{Name: RequestSuccessRate},
			want: "Halt podinfo.test advancement request-success-rate: metric request-success-rate has no built-in comparison for provider kubernetes (it needs a provider that splits traffic between canary and primary); use a MetricTemplate with compare (templateRef)",
		},
		"a template without compare queries": {
			provider: "appmesh", metric: flaggerv1.CanaryMetric{Name: "lat", TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "lat"}},
			templates: []client.Object{newTemplate("lat", "", "vector(1)")},
			want:      "metric template test/lat has no compare queries, which a metric with compare needs",
		},
		"a count query that returns several series": {
			provider: "appmesh", metric: flaggerv1.CanaryMetric{Name: "errs", TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "lat"}},
			templates: []client.Object{withCompare(flaggerv1.CompareErrorRate)},
			reply:     fmt.Sprintf(replyVector, "1"),
			want:      "Halt podinfo.test advancement errs query failed: query returned 2 series; a count must be one series, e.g. sum(increase(...))",
		},
		"a histogram query without le": {
			provider: "appmesh", metric: flaggerv1.CanaryMetric{Name: "lat", TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "lat"}},
			templates: []client.Object{withCompare(flaggerv1.CompareLatency)},
			reply:     vectorReply(3),
			want:      "Halt podinfo.test advancement lat query failed: histogram query returned a series without an le label; keep it, e.g. sum(...) by (le)",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, address := newScriptedPrometheus(t, func(string) string { return tc.reply })
			tc.metric.Compare = &flaggerv1.MetricComparison{AllowedDegradation: "+1pp"}
			canary := newCanary("podinfo", withMetricsServer(address), withMetrics(tc.metric))
			checker := &Checker{Reader: newReader(t, tc.templates...)}

			got := checker.Compare(context.Background(), canary, tc.provider, time.Minute)

			if len(got) != 1 || got[0].Err == nil {
				t.Fatalf("got %+v, want one comparison that failed", got)
			}
			if !strings.Contains(got[0].Message, tc.want) {
				t.Errorf("message %q, want it to contain %q", got[0].Message, tc.want)
			}
		})
	}
}

func TestTemplateComparisonsRenderWorkloadAndWindow(t *testing.T) {
	tmpl := newTemplate("errs", "", "")
	tmpl.Spec.Compare = &flaggerv1.MetricTemplateComparison{
		Kind:     flaggerv1.CompareErrorRate,
		Requests: `sum(increase(http_requests_total{namespace="{{ namespace }}",pod=~"{{ workload }}-.*"}[{{ window }}]))`,
		Errors:   `sum(increase(http_requests_total{pod=~"{{ .workload }}-.*",code=~"{{ variables.codes }}"}[{{ window }}]))`,
	}
	prom, address := newScriptedPrometheus(t, func(string) string { return vectorReply(7) })
	canary := newCanary("podinfo", withMetricsServer(address), withMetrics(flaggerv1.CanaryMetric{
		Name: "errs", TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "errs"},
		TemplateVariables: map[string]flaggerv1.TemplateVariable{"codes": "5.."},
		Compare:           &flaggerv1.MetricComparison{AllowedDegradation: "+1pp"},
	}))
	checker := &Checker{Reader: newReader(t, tmpl)}

	got := checker.Compare(context.Background(), canary, "kubernetes", 2*time.Minute)

	if len(got) != 1 || got[0].Err != nil {
		t.Fatalf("got %+v", got)
	}
	want := []string{
		`sum(increase(http_requests_total{namespace="test",pod=~"podinfo-.*"}[120s]))`,
		`sum(increase(http_requests_total{pod=~"podinfo-.*",code=~"5.."}[120s]))`,
		`sum(increase(http_requests_total{namespace="test",pod=~"podinfo-primary-.*"}[120s]))`,
		`sum(increase(http_requests_total{pod=~"podinfo-primary-.*",code=~"5.."}[120s]))`,
	}
	if fmt.Sprint(prom.queries) != fmt.Sprint(want) {
		t.Errorf("queries\n%q\nwant\n%q", prom.queries, want)
	}
}

func TestCheckLeavesComparedMetricsToCompare(t *testing.T) {
	prom, address := newScriptedPrometheus(t, func(string) string { return vectorReply(1) })
	checker := &Checker{Reader: newReader(t)}

	got := checker.Check(context.Background(), compared(address), "appmesh")

	if len(got) != 1 || got[0].Name != "cpu" || !got[0].Passed {
		t.Errorf("results %+v, want the threshold metric cpu only", got)
	}
	if len(prom.queries) != 1 {
		t.Errorf("queries %q, want one", prom.queries)
	}
}

func TestTemplatesWithOnlyCompareQueriesCannotHoldAThreshold(t *testing.T) {
	tmpl := newTemplate("errs", "", "")
	tmpl.Spec.Compare = &flaggerv1.MetricTemplateComparison{Kind: flaggerv1.CompareLatency, Buckets: "x"}
	canary := newCanary("podinfo", withMetricsServer("http://prometheus:9090"), withMetrics(flaggerv1.CanaryMetric{
		Name: "errs", TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "errs"}, ThresholdRange: &flaggerv1.CanaryThresholdRange{Max: ptr(1)},
	}))
	checker := &Checker{Reader: newReader(t, tmpl)}

	got := checker.Check(context.Background(), canary, "appmesh")[0]

	want := "Halt podinfo.test advancement errs: metric template test/errs has no query: it holds only compare queries, for metrics with compare"
	if got.Passed || got.Message != want {
		t.Errorf("result %+v, want the message %q", got, want)
	}
}

func TestComparisonQueriesGoThroughTheEgressGuard(t *testing.T) {
	prom, address := newScriptedPrometheus(t, func(string) string { return vectorReply(1) })
	deny, _ := egress.ParsePrefixes("127.0.0.0/8")
	checker := &Checker{Reader: newReader(t), Egress: egress.NewPolicy(deny, nil)}

	got := checker.Compare(context.Background(), compared(address), "appmesh", time.Minute)

	if got[0].Err == nil || !strings.Contains(got[0].Message, "refused by the operator's egress policy") {
		t.Errorf("comparison %+v, want a refusal by the egress policy", got[0])
	}
	if len(prom.queries) != 0 {
		t.Errorf("the denied server got %d queries", len(prom.queries))
	}
}

func TestHistogramRepliesAreReadAsBucketsOrRefused(t *testing.T) {
	sample := func(le string, v float64) *model.Sample {
		m := model.Metric{}
		if le != "" {
			m[model.BucketLabel] = model.LabelValue(le)
		}
		return &model.Sample{Metric: m, Value: model.SampleValue(v)}
	}
	many := model.Vector{}
	for i := range 70 {
		many = append(many, sample(fmt.Sprint(i+1), 1))
	}
	cases := map[string]struct {
		// value is the query's reply.
		value model.Value
		// want is the histogram read; wantErr a substring of the refusal.
		want    judge.Histogram
		wantErr string
	}{
		"buckets in any order": {
			value: model.Vector{sample("+Inf", 10), sample("0.5", 7), sample("0.1", 2)},
			want:  judge.Histogram{Bounds: []float64{0.1, 0.5}, Counts: []float64{2, 5, 3}},
		},
		"NaN counts are no requests": {
			value: model.Vector{sample("+Inf", math.NaN()), sample("1", math.NaN())},
			want:  judge.Histogram{Bounds: []float64{1}, Counts: []float64{0, 0}},
		},
		"no series is an empty window": {value: model.Vector{}, want: judge.Histogram{}},
		"a series without le":          {value: model.Vector{sample("", 1)}, wantErr: "without an le label"},
		"a bucket twice":               {value: model.Vector{sample("1", 1), sample("1", 2), sample("+Inf", 2)}, wantErr: "twice"},
		"no +Inf bucket":               {value: model.Vector{sample("1", 1), sample("2", 2)}, wantErr: "+Inf"},
		"an le that is not a number":   {value: model.Vector{sample("fast", 1)}, wantErr: "not a number"},
		"too many series":              {value: many, wantErr: "70 series"},
		"a scalar":                     {value: &model.Scalar{Value: 1}, wantErr: "instant vector"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := histogramOf(tc.value)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestCountsAreOneSeriesOrNone(t *testing.T) {
	cases := map[string]struct {
		// value is the query's reply.
		value model.Value
		// want is the count; wantErr whether it is refused.
		want    float64
		wantErr bool
	}{
		"one series":                     {value: model.Vector{{Value: 12.5}}, want: 12.5},
		"no series is zero":              {value: model.Vector{}, want: 0},
		"NaN is zero":                    {value: model.Vector{{Value: model.SampleValue(math.NaN())}}, want: 0},
		"a scalar":                       {value: &model.Scalar{Value: 3}, want: 3},
		"several series are not a count": {value: model.Vector{{Value: 1}, {Value: 2}}, wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := countOf(tc.value)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("got %v, %v; want %v (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// A histogram reply comes from a server a tenant may name: whatever its
// buckets say, reading it never panics, and the judge takes what it reads
// or refuses it with an error.
func FuzzHistogramOf(f *testing.F) {
	f.Add("0.1,0.5,+Inf", 2.0, 7.0, 10.0)
	f.Add("1,1,+Inf", 1.0, 2.0, 2.0)
	f.Add("NaN,-Inf,x", -1.0, 1e300, math.NaN())
	f.Fuzz(func(t *testing.T, les string, a, b, c float64) {
		values := []float64{a, b, c}
		var vec model.Vector
		for i, le := range strings.SplitN(les, ",", 8) {
			vec = append(vec, &model.Sample{Metric: model.Metric{model.BucketLabel: model.LabelValue(le)}, Value: model.SampleValue(values[i%3])})
		}
		h, err := histogramOf(vec)
		if err != nil || len(h.Bounds) == 0 {
			return
		}
		cfg := judge.Config{Confidence: 0.99, Inconclusive: judge.InconclusivePolicy{MaxSteps: 1, Then: judge.ThenFail},
			Comparisons: []judge.Comparison{{Name: "l", Kind: judge.Latency, AllowedDegradation: judge.Margin{Value: 10, Unit: judge.Percent}}}}
		// The judge may still refuse a latency histogram it cannot scale
		// (a single bound, a bound at zero, counts beyond its cap), with
		// an error: never a panic.
		if _, _, err := judge.Step(cfg, judge.State{}, map[string]judge.Window{"l": {Canary: judge.Sample{Latency: h}, Primary: judge.Sample{Latency: h}}}); err != nil &&
			!strings.Contains(err.Error(), "bounds") && !strings.Contains(err.Error(), "count") {
			t.Errorf("histogram %+v read from %q is refused by the judge: %v", h, les, err)
		}
	})
}

func TestSecondsBucketsBecomeWholeMilliseconds(t *testing.T) {
	// client_golang's default buckets, as podinfo's histogram has them.
	seconds := []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	want := []float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}
	got := scaled(seconds, 1000)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("bound %v s = %v ms, want exactly %v", seconds[i], got[i], want[i])
		}
	}
}
