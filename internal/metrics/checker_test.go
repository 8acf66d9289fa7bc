package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/configdata"
)

// Replies of the fake Prometheus /api/v1/query.
const (
	replyVector = `{"status":"success","data":{"resultType":"vector","result":[` +
		`{"metric":{"pod":"a"},"value":[1700000000,"%s"]},{"metric":{"pod":"b"},"value":[1700000000,"1"]}]}}`
	replyEmpty    = `{"status":"success","data":{"resultType":"vector","result":[]}}`
	replyScalar   = `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"%s"]}}`
	replyMatrix   = `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"1"]]}]}}`
	replyBadQuery = `{"status":"error","errorType":"bad_data","error":"parse error: unexpected end of input"}`
)

// now is the evaluation time of the test queries.
var now = time.Unix(1700000000, 0)

// fakePrometheus answers /api/v1/query with a fixed reply and records the
// requests it got.
type fakePrometheus struct {
	status int    // HTTP status of the reply
	reply  string // JSON body of the reply

	mu       sync.Mutex
	queries  []string // the PromQL received
	times    []string // the evaluation times received
	authz    []string // the Authorization headers received
	requests int
}

func newFakePrometheus(t *testing.T, status int, reply string) (*fakePrometheus, string) {
	p := &fakePrometheus{status: status, reply: reply}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func (p *fakePrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.requests++
	p.queries = append(p.queries, r.Form.Get("query"))
	p.times = append(p.times, r.Form.Get("time"))
	p.authz = append(p.authz, r.Header.Get("Authorization"))
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(p.status)
	_, _ = w.Write([]byte(p.reply))
}

// newReader returns a fake cache holding objs.
func newReader(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := flaggerv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
}

// newTemplate returns the MetricTemplate test/name.
func newTemplate(name, address, query string) *flaggerv1.MetricTemplate {
	return &flaggerv1.MetricTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "test"},
		Spec: flaggerv1.MetricTemplateSpec{
			Provider: flaggerv1.MetricTemplateProvider{Type: "prometheus", Address: address},
			Query:    query,
		},
	}
}

func TestCheck(t *testing.T) {
	vars := strings.NewReplacer("{{ namespace }}", "test", "{{ target }}", "podinfo", "{{ interval }}", "1m")
	envoyRate, envoyP99 := vars.Replace(envoySuccessRate), vars.Replace(envoyDuration)
	httpRate, httpP99 := vars.Replace(httpSuccessRate), vars.Replace(httpDuration)
	templates := []client.Object{
		newTemplate("error-rate", "", `sum(rate(errors{ns="{{ namespace }}",host="{{ variables.host }}"}[{{ interval }}]))`),
		newTemplate("broken", "", `{{ nope }}`),
		newTemplate("datadog", "", `avg:errors{*}`),
	}
	templates[2].(*flaggerv1.MetricTemplate).Spec.Provider.Type = "datadog"
	cases := map[string]struct {
		provider string                 // the canary's mesh provider
		metric   flaggerv1.CanaryMetric // the metric checked
		status   int                    // HTTP status of Prometheus' reply; 200 when zero
		reply    string                 // Prometheus' reply
		want     Result                 // the expected result; only whether Err is set is compared
	}{
		"success rate below its threshold halts": {
			provider: "appmesh", metric: flaggerv1.CanaryMetric{Name: RequestSuccessRate, Threshold: ptr(99)},
			reply: fmt.Sprintf(replyVector, "69.1666"),
			want: Result{Name: RequestSuccessRate, Value: 69.1666, Min: ptr(99), Query: envoyRate,
				Message: "Halt podinfo.test advancement success rate 69.17% < 99%"}},
		"request duration within range passes": {
			provider: "appmesh:v1beta2", metric: flaggerv1.CanaryMetric{Name: RequestDuration,
				ThresholdRange: &flaggerv1.CanaryThresholdRange{Max: ptr(500)}},
			reply: fmt.Sprintf(replyVector, "120.5"),
			want:  Result{Name: RequestDuration, Value: 120.5, Max: ptr(500), Passed: true, Query: envoyP99}},
		"request duration above its threshold halts": {
			provider: "gatewayapi:v1", metric: flaggerv1.CanaryMetric{Name: RequestDuration, Threshold: ptr(500)},
			reply: fmt.Sprintf(replyVector, "1200"),
			want: Result{Name: RequestDuration, Value: 1200, Max: ptr(500), Query: httpP99,
				Message: "Halt podinfo.test advancement request duration 1.2s > 500ms"}},
		"the kubernetes provider's success rate reads the application's series": {
			provider: "kubernetes", metric: flaggerv1.CanaryMetric{Name: RequestSuccessRate, Threshold: ptr(99)},
			reply: fmt.Sprintf(replyVector, "99.5"),
			want:  Result{Name: RequestSuccessRate, Value: 99.5, Min: ptr(99), Passed: true, Query: httpRate}},
		"an empty result is no values": {
			provider: "appmesh", metric: flaggerv1.CanaryMetric{Name: RequestSuccessRate, Threshold: ptr(99)},
			reply: replyEmpty,
			want: Result{Name: RequestSuccessRate, Min: ptr(99), NoValues: true, Query: envoyRate,
				Message: "Halt advancement no values found for appmesh metric request-success-rate probably podinfo.test is not receiving traffic"}},
		"NaN is no values": {
			provider: "appmesh", metric: flaggerv1.CanaryMetric{Name: RequestSuccessRate, Threshold: ptr(99)},
			reply: fmt.Sprintf(replyVector, "NaN"),
			want: Result{Name: RequestSuccessRate, Min: ptr(99), NoValues: true, Query: envoyRate,
				Message: "Halt advancement no values found for appmesh metric request-success-rate probably podinfo.test is not receiving traffic"}},
		"a template renders functions and variables": {
			provider: "kubernetes", metric: flaggerv1.CanaryMetric{Name: "errors", Interval: "2m",
				TemplateRef:       &flaggerv1.CrossNamespaceObjectReference{Name: "error-rate"},
				TemplateVariables: map[string]flaggerv1.TemplateVariable{"host": "app.example.com"},
				ThresholdRange:    &flaggerv1.CanaryThresholdRange{Max: ptr(5)}},
			reply: fmt.Sprintf(replyVector, "7.5"),
			want: Result{Name: "errors", Value: 7.5, Max: ptr(5),
				Query:   `sum(rate(errors{ns="test",host="app.example.com"}[2m]))`,
				Message: "Halt podinfo.test advancement errors 7.50 > 5"}},
		"a template's empty result names its provider type": {
			provider: "appmesh", metric: flaggerv1.CanaryMetric{Name: "errors",
				TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "error-rate", Namespace: "test"}},
			reply: replyEmpty,
			want: Result{Name: "errors", NoValues: true, Query: `sum(rate(errors{ns="test",host=""}[1m]))`,
				Message: "Halt advancement no values found for prometheus metric errors probably podinfo.test is not receiving traffic"}},
		"a scalar is a value": {
			provider: "kubernetes", metric: flaggerv1.CanaryMetric{Name: "answer", Query: `scalar(vector({{ len target }}))`,
				ThresholdRange: &flaggerv1.CanaryThresholdRange{Min: ptr(1)}},
			reply: fmt.Sprintf(replyScalar, "7"),
			want:  Result{Name: "answer", Value: 7, Min: ptr(1), Passed: true, Query: `scalar(vector(7))`}},
		"a bad query fails": {
			provider: "kubernetes", metric: flaggerv1.CanaryMetric{Name: "bad", Query: `sum(`},
			status: http.StatusBadRequest, reply: replyBadQuery,
			want: Result{Name: "bad", Query: `sum(`, Err: errSet,
				Message: "Halt podinfo.test advancement bad query failed: bad_data: parse error: unexpected end of input"}},
		"a range vector fails": {
			provider: "kubernetes", metric: flaggerv1.CanaryMetric{Name: "range", Query: `up[1m]`},
			reply: replyMatrix,
			want: Result{Name: "range", Query: `up[1m]`, Err: errSet,
				Message: "Halt podinfo.test advancement range query failed: query returned a matrix; it must return an instant vector or a scalar"}},
		"a provider without built-in queries fails": {
			provider: "contour", metric: flaggerv1.CanaryMetric{Name: RequestSuccessRate, Threshold: ptr(99)},
			want: Result{Name: RequestSuccessRate, Min: ptr(99), Err: errSet,
				Message: "Halt podinfo.test advancement request-success-rate: metric request-success-rate has no built-in query for provider contour; use a MetricTemplate (templateRef)"}},
		"a missing template fails": {
			provider: "appmesh", metric: flaggerv1.CanaryMetric{Name: "latency",
				TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "latency", Namespace: "monitoring"}},
			want: Result{Name: "latency", Err: errSet,
				Message: `Halt podinfo.test advancement latency: get metric template monitoring/latency: metrictemplates.flagger.app "latency" not found`}},
		"a template that does not render fails naming it": {
			provider: "appmesh", metric: flaggerv1.CanaryMetric{Name: "broken",
				TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "broken"}},
			want: Result{Name: "broken", Err: errSet,
				Message: `Halt podinfo.test advancement broken: metric template test/broken: parse query: template: test/broken:1: function "nope" not defined`}},
		"a template of another provider type fails": {
			provider: "appmesh", metric: flaggerv1.CanaryMetric{Name: "dd",
				TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "datadog"}},
			want: Result{Name: "dd", Err: errSet,
				Message: `Halt podinfo.test advancement dd: metric template test/datadog: provider type "datadog" is not supported, only prometheus`}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			status := tc.status
			if status == 0 {
				status = http.StatusOK
			}
			prom, url := newFakePrometheus(t, status, tc.reply)
			checker := &Checker{Reader: newReader(t, templates...), Now: func() time.Time { return now }}
			canary := newCanary("podinfo", withMetricsServer(url), withMetrics(tc.metric))

			got := checker.Check(context.Background(), canary, tc.provider)

			if len(got) != 1 {
				t.Fatalf("got %d results, want 1", len(got))
			}
			compareResult(t, got[0], tc.want)
			for _, ts := range prom.times {
				if ts != "1700000000" {
					t.Errorf("query evaluated at %q, want the checker's Now, 1700000000", ts)
				}
			}
		})
	}
}

// errSet in a wanted Result means that Err must be set.
var errSet = fmt.Errorf("any error")

func compareResult(t *testing.T, got, want Result) {
	t.Helper()
	if got.Name != want.Name || got.Value != want.Value || got.Passed != want.Passed ||
		got.NoValues != want.NoValues || got.Message != want.Message || got.Query != want.Query ||
		!sameBound(got.Min, want.Min) || !sameBound(got.Max, want.Max) || (got.Err != nil) != (want.Err != nil) {
		t.Errorf("result =\n%s\nwant\n%s", showResult(got), showResult(want))
	}
}

func showResult(r Result) string {
	return fmt.Sprintf("{Name:%s Value:%v Min:%v Max:%v Passed:%v NoValues:%v Err:%v\n Message:%q\n Query:%q}",
		r.Name, r.Value, show(r.Min), show(r.Max), r.Passed, r.NoValues, r.Err, r.Message, r.Query)
}

func TestCheckRunsEveryMetricInOrder(t *testing.T) {
	_, url := newFakePrometheus(t, http.StatusOK, fmt.Sprintf(replyVector, "600"))
	checker := &Checker{Reader: newReader(t), DefaultServer: url}
	canary := newCanary("podinfo", withMetrics(
		flaggerv1.CanaryMetric{Name: RequestSuccessRate, Threshold: ptr(99)},
		flaggerv1.CanaryMetric{Name: RequestDuration, Threshold: ptr(500)},
		flaggerv1.CanaryMetric{Name: "custom", Query: "vector(1)"},
	))

	got := checker.Check(context.Background(), canary, "istio")

	var names []string
	for _, r := range got {
		names = append(names, fmt.Sprintf("%s passed=%v", r.Name, r.Passed))
	}
	want := "request-success-rate passed=true, request-duration passed=false, custom passed=true"
	if strings.Join(names, ", ") != want {
		t.Errorf("results = %v, want %s", names, want)
	}
}

func TestCheckWithoutAnalysisReturnsNothing(t *testing.T) {
	checker := &Checker{Reader: newReader(t)}
	if got := checker.Check(context.Background(), newCanary("podinfo"), "appmesh"); got != nil {
		t.Errorf("results = %+v, want none", got)
	}
}

func TestCheckServerAddress(t *testing.T) {
	const unreachable = "http://127.0.0.1:1"
	cases := map[string]struct {
		template      string // the template's provider.address; "prom" is the fake
		metricsServer string // the canary's spec.metricsServer
		defaultServer string // the operator's --metrics-server
		wantQueried   bool   // whether the fake Prometheus is queried
		wantMessage   string // a part of the expected message when not queried
	}{
		"the template's address comes first": {
			template: "prom", metricsServer: unreachable, defaultServer: unreachable, wantQueried: true},
		"then the canary's metrics server": {
			metricsServer: "prom", defaultServer: unreachable, wantQueried: true},
		"then the operator's default": {
			defaultServer: "prom", wantQueried: true},
		"an unreachable server fails the query": {
			metricsServer: unreachable, wantMessage: "Halt podinfo.test advancement errors query failed: "},
		"no server at all fails": {
			wantMessage: "no metrics server: set spec.metricsServer or the operator's --metrics-server flag"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			prom, url := newFakePrometheus(t, http.StatusOK, fmt.Sprintf(replyVector, "1"))
			addr := func(a string) string {
				if a == "prom" {
					return url
				}
				return a
			}
			tmpl := newTemplate("errors", addr(tc.template), "sum(errors)")
			checker := &Checker{Reader: newReader(t, tmpl), DefaultServer: addr(tc.defaultServer)}
			canary := newCanary("podinfo", withMetricsServer(addr(tc.metricsServer)), withMetrics(flaggerv1.CanaryMetric{
				Name: "errors", TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "errors"}}))

			got := checker.Check(context.Background(), canary, "appmesh")[0]

			if queried := prom.requests > 0; queried != tc.wantQueried {
				t.Errorf("fake Prometheus queried = %v, want %v", queried, tc.wantQueried)
			}
			if tc.wantQueried && !got.Passed {
				t.Errorf("result = %s, want passed", showResult(got))
			}
			if !tc.wantQueried && (got.Err == nil || !strings.Contains(got.Message, tc.wantMessage)) {
				t.Errorf("result = %s, want an error with a message containing %q", showResult(got), tc.wantMessage)
			}
		})
	}
}

func TestCheckAuthenticatesWithTheTemplateSecret(t *testing.T) {
	cases := map[string]struct {
		data        map[string]string // the Secret's data; nil means no Secret
		wantAuthz   string            // the Authorization header Prometheus gets
		wantMessage string            // a part of the failure message; empty when it passes
	}{
		"basic auth from username and password": {
			data:      map[string]string{"username": "flagger", "password": "s3cret"},
			wantAuthz: "Basic ZmxhZ2dlcjpzM2NyZXQ="},
		"bearer from token": {
			data:      map[string]string{"token": "abc.def"},
			wantAuthz: "Bearer abc.def"},
		"a secret without credentials fails": {
			data:        map[string]string{"user": "flagger"},
			wantMessage: "secret test/prom-auth has neither the keys username and password nor the key token"},
		"a missing secret fails": {
			wantMessage: `get secret test/prom-auth: secrets "prom-auth" not found`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			prom, url := newFakePrometheus(t, http.StatusOK, fmt.Sprintf(replyVector, "1"))
			tmpl := newTemplate("errors", url, "sum(errors)")
			tmpl.Spec.Provider.SecretRef = &corev1.LocalObjectReference{Name: "prom-auth"}
			objs := []client.Object{tmpl}
			if tc.data != nil {
				objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "prom-auth", Namespace: "test"},
					Data: toBytes(tc.data)})
			}
			cache := newReader(t, objs...)
			checker := &Checker{Reader: cache, Secrets: &configdata.Reader{Metadata: cache, API: cache}}
			canary := newCanary("podinfo", withMetrics(flaggerv1.CanaryMetric{
				Name: "errors", TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "errors"}}))

			got := checker.Check(context.Background(), canary, "appmesh")[0]

			if tc.wantMessage != "" {
				if got.Err == nil || !strings.Contains(got.Message, tc.wantMessage) {
					t.Errorf("result = %s, want an error with a message containing %q", showResult(got), tc.wantMessage)
				}
				return
			}
			if !got.Passed || len(prom.authz) != 1 || prom.authz[0] != tc.wantAuthz {
				t.Errorf("result = %s, Authorization headers %q; want passed with %q", showResult(got), prom.authz, tc.wantAuthz)
			}
		})
	}
}

func toBytes(m map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out
}
