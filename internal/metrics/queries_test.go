package metrics

import (
	"strings"
	"testing"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

func TestBuiltinQueries(t *testing.T) {
	const (
		envoyRate = `sum(rate(envoy_cluster_upstream_rq{kubernetes_namespace="test",kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",envoy_response_code!~"5.*"}[1m])) / sum(rate(envoy_cluster_upstream_rq{kubernetes_namespace="test",kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[1m])) * 100`
		envoyP99  = `histogram_quantile(0.99, sum(rate(envoy_cluster_upstream_rq_time_bucket{kubernetes_namespace="test",kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[30s])) by (le))`
		// Flagger's HTTP observer, the p99 multiplied into milliseconds.
		httpRate = `sum(rate(http_request_duration_seconds_count{kubernetes_namespace="test",kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",status!~"5.*"}[1m])) / sum(rate(http_request_duration_seconds_count{kubernetes_namespace="test",kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[1m])) * 100`
		httpP99  = `histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{kubernetes_namespace="test",kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[30s])) by (le)) * 1000`
	)
	cases := map[string]struct {
		provider string // the canary's mesh provider
		metric   string // built-in metric name
		interval string // the metric's interval; 1m when empty
		want     string // the rendered PromQL
	}{
		"app mesh success rate": {provider: "appmesh", metric: RequestSuccessRate, want: envoyRate},
		"app mesh duration":     {provider: "appmesh", metric: RequestDuration, interval: "30s", want: envoyP99},
		"app mesh v1beta2 success rate uses the same envoy query":            {provider: "appmesh:v1beta2", metric: RequestSuccessRate, want: envoyRate},
		"app mesh v1beta2 duration uses the same envoy query":                {provider: "appmesh:v1beta2", metric: RequestDuration, interval: "30s", want: envoyP99},
		"gateway api success rate reads the application's request histogram": {provider: "gatewayapi:v1", metric: RequestSuccessRate, want: httpRate},
		"gateway api duration is the application's p99 in milliseconds":      {provider: "gatewayapi:v1", metric: RequestDuration, interval: "30s", want: httpP99},
		"kubernetes success rate reads the application's request histogram":  {provider: "kubernetes", metric: RequestSuccessRate, want: httpRate},
		"kubernetes duration is the application's p99 in milliseconds":       {provider: "kubernetes", metric: RequestDuration, interval: "30s", want: httpP99},
		"istio success rate": {provider: "istio", metric: RequestSuccessRate, interval: "2m",
			want: `sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="test",destination_workload=~"podinfo",response_code!~"5.*"}[2m])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="test",destination_workload=~"podinfo"}[2m])) * 100`},
		"istio duration": {provider: "istio", metric: RequestDuration,
			want: `histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="test",destination_workload=~"podinfo"}[1m])) by (le))`},
		"linkerd success rate": {provider: "linkerd", metric: RequestSuccessRate,
			want: `sum(rate(response_total{namespace="test",deployment=~"podinfo",classification!="failure",direction="inbound"}[1m])) / sum(rate(response_total{namespace="test",deployment=~"podinfo",direction="inbound"}[1m])) * 100`},
		"linkerd duration": {provider: "linkerd", metric: RequestDuration,
			want: `histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{namespace="test",deployment=~"podinfo",direction="inbound"}[1m])) by (le))`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := flaggerv1.CanaryMetric{Name: tc.metric, Interval: tc.interval}
			text, err := builtinQuery(tc.provider, tc.metric)
			if err != nil {
				t.Fatal(err)
			}
			got, err := renderQuery(tc.metric, text, varsFor(newCanary("podinfo"), m))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("query =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestBuiltinQueryOfAnUnknownProviderOrMetricFails(t *testing.T) {
	cases := map[string]struct {
		provider, metric string // what is looked up
	}{
		"a provider Serin lacks has none": {provider: "contour", metric: RequestSuccessRate},
		"a custom metric is not built in": {provider: "appmesh", metric: "error-rate"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := builtinQuery(tc.provider, tc.metric)
			if err == nil || !strings.Contains(err.Error(), "no built-in query for provider "+tc.provider) ||
				!strings.Contains(err.Error(), "MetricTemplate") {
				t.Errorf("error = %v, want one saying there is no built-in query and to use a MetricTemplate", err)
			}
		})
	}
}

func TestRenderQuery(t *testing.T) {
	widenRenderTimeLimit(t)
	canary := newCanary("podinfo", withService("podinfo-svc"), withIngress("podinfo-ing"))
	metric := flaggerv1.CanaryMetric{Name: "m", Interval: "5m",
		TemplateVariables: map[string]flaggerv1.TemplateVariable{"host": "app.example.com", "max-age": "30"}}
	cases := map[string]struct {
		text    string // the query template
		want    string // the rendered query; empty when an error is expected
		wantErr string // a part of the expected error
	}{
		"every function": {
			text: `{{ name }} {{ namespace }} {{ target }} {{ service }} {{ ingress }} {{ route }} {{ interval }}`,
			want: "podinfo test podinfo podinfo-svc podinfo-ing podinfo 5m"},
		"fields of the dot": {
			text: `{{ .name }}/{{ .namespace }}/{{ .interval }}/{{ .variables.host }}/{{ .ingress }}/{{ .route }}`,
			want: "podinfo/test/5m/app.example.com/podinfo-ing/podinfo"},
		"flagger's variables.key syntax": {
			text: `up{host="{{ variables.host }}",age="{{variables.max-age}}"}`,
			want: `up{host="app.example.com",age="30"}`},
		"variables.key inside a pipeline": {
			text: `{{ printf "%s:%s" variables.host namespace }}`,
			want: "app.example.com:test"},
		"index call": {
			text: `{{ index variables "host" }}`,
			want: "app.example.com"},
		"text without actions is unchanged": {
			text: `sum(rate(http_requests_total{variables.host="x"}[1m]))`,
			want: `sum(rate(http_requests_total{variables.host="x"}[1m]))`},
		"unknown function": {
			text: `{{ pod }}`, wantErr: `function "pod" not defined`},
		"unknown field": {
			text: `{{ .pod }}`, wantErr: `map has no entry for key "pod"`},
		"unclosed action": {
			text: `{{ namespace `, wantErr: "parse query"},
		"range over variables": {
			text: `{{ range $k, $v := variables }}{{ $k }}={{ $v }};{{ end }}`,
			want: "host=app.example.com;max-age=30;"},
		"range over a number is refused": {
			text: `{{ range 1000000000000 }}{{ end }}`, wantErr: "range iterates only over variables"},
		"nested range is refused": {
			text: `{{ range variables }}{{ range .variables }}{{ end }}{{ end }}`, wantErr: "nested range"},
		"template calls are refused": {
			text: `{{ define "a" }}{{ template "a" }}{{ template "a" }}{{ end }}{{ template "a" }}`, wantErr: "template and block actions"},
		"block is refused": {
			text: `{{ block "b" . }}x{{ end }}`, wantErr: "template and block actions"},
		"wide printf is refused": {
			text: `{{ printf "%099999999d" 1 }}`, wantErr: "widths and precisions must be below 1000"},
		"printf star width is refused": {
			text: `{{ printf "%*d" 99999999 1 }}`, wantErr: "widths and precisions must be below 1000"},
		"printf of PromQL multiplication is fine": {
			text: `{{ printf "%s * 100" target }}`, want: "podinfo * 100"},
		"a huge query is refused": {
			text:    `{{ $s := printf "%0999d" 0 }}{{ $s = print $s $s $s $s $s $s $s $s }}{{ $s = print $s $s $s $s $s $s $s $s }}{{ $s = print $s $s $s $s $s $s $s $s }}`,
			wantErr: "the template builds more than 256 KiB of text"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := renderQuery("test/m", tc.text, varsFor(canary, metric))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("query = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestIngressAndRouteDefaultToTheTargetAsInFlagger(t *testing.T) {
	cases := map[string]struct {
		canary *flaggerv1.Canary // the canary the query is rendered for
		want   string            // {{ ingress }} {{ route }} {{ .ingress }} {{ .route }}
	}{
		"without ingressRef both are the target": {canary: newCanary("podinfo"), want: "podinfo podinfo podinfo podinfo"},
		"ingressRef names the ingress; route stays the target": {
			canary: newCanary("podinfo", withIngress("public")), want: "public podinfo public podinfo"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := renderQuery("test/m", `{{ ingress }} {{ route }} {{ .ingress }} {{ .route }}`, varsFor(tc.canary, flaggerv1.CanaryMetric{Name: "m"}))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("rendered %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzRenderQuery(f *testing.F) {
	for _, seed := range []string{
		envoySuccessRate, istioDuration, linkerdSuccessRate, httpDuration,
		`{{ variables.host }}`, `{{ .variables.host }}`, `{{ printf "%s" variables.a-b }}`,
		`{{ range $k, $v := variables }}{{ $k }}={{ $v }}{{ end }}`, `{{`, `}}`, `{{ "variables.x" }}`,
	} {
		f.Add(seed)
	}
	canary := newCanary("podinfo")
	metric := flaggerv1.CanaryMetric{Name: "m", TemplateVariables: map[string]flaggerv1.TemplateVariable{"host": "h", "a-b": "c"}}
	f.Fuzz(func(t *testing.T, text string) {
		got, err := renderQuery("fuzz", text, varsFor(canary, metric))
		if err == nil && !strings.Contains(text, "{{") && got != text {
			t.Errorf("text without actions rendered as %q, want it unchanged: %q", got, text)
		}
	})
}
