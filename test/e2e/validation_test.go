package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/serin-dev/serin/test/framework"
)

// Invalid manifests are rejected at admission with a message naming the
// field and the rule.
func TestInvalidManifestsAreRejected(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns := e.Namespace(t)
	cases := map[string]struct {
		// file is the valid manifest the case starts from.
		file string
		// mutate makes it invalid.
		mutate func(o map[string]any)
		// want are substrings of the API server's rejection.
		want []string
	}{
		"targetRef is required": {
			file: "canary-v1beta1.yaml", mutate: del("spec", "targetRef"),
			want: []string{"spec.targetRef: Required value"},
		},
		"targetRef.kind must be a workload kind": {
			file: "canary-v1beta1.yaml", mutate: set("StatefulSet", "spec", "targetRef", "kind"),
			want: []string{`spec.targetRef.kind: Unsupported value: "StatefulSet"`, `"Deployment"`},
		},
		"service.port is required": {
			file: "canary-v1beta1.yaml", mutate: del("spec", "service", "port"),
			want: []string{"spec.service.port: Required value"},
		},
		"service.port is at most 65535": {
			file: "canary-v1beta1.yaml", mutate: set(int64(70000), "spec", "service", "port"),
			want: []string{"spec.service.port: Invalid value: 70000", "less than or equal to 65535"},
		},
		"service.targetPort number must be a port": {
			file: "canary-v1beta1.yaml", mutate: set(int64(0), "spec", "service", "targetPort"),
			want: []string{"spec.service.targetPort", "a port name or a number from 1 to 65535"},
		},
		"interval must be a number of seconds or minutes": {
			file: "canary-v1beta1.yaml", mutate: set("10x", "spec", "analysis", "interval"),
			want: []string{"spec.analysis.interval", "should match '^[0-9]+(m|s)$'"},
		},
		"interval must be at least 1s": {
			file: "canary-v1beta1.yaml", mutate: set("0s", "spec", "analysis", "interval"),
			want: []string{"spec.analysis.interval", "interval must be at least 1s"},
		},
		"stepWeight is at most 100": {
			file: "canary-v1beta1.yaml", mutate: set(int64(150), "spec", "analysis", "stepWeight"),
			want: []string{"spec.analysis.stepWeight: Invalid value: 150", "less than or equal to 100"},
		},
		"maxWeight is at most 100": {
			file: "canary-v1beta1.yaml", mutate: set(int64(101), "spec", "analysis", "maxWeight"),
			want: []string{"spec.analysis.maxWeight: Invalid value: 101", "less than or equal to 100"},
		},
		"stepWeight and iterations exclude each other": {
			file: "canary-v1beta1.yaml", mutate: set(int64(10), "spec", "analysis", "iterations"),
			want: []string{"spec.analysis", "set exactly one of stepWeight, stepWeights (weighted canary) or iterations"},
		},
		"a strategy is required": {
			file: "canary-v1beta1.yaml", mutate: del("spec", "analysis", "stepWeight"),
			want: []string{"spec.analysis", "set exactly one of stepWeight, stepWeights (weighted canary) or iterations"},
		},
		"stepWeights ascend": {
			file: "canary-v1beta1.yaml",
			mutate: func(o map[string]any) {
				del("spec", "analysis", "stepWeight")(o)
				set([]any{int64(10), int64(5)}, "spec", "analysis", "stepWeights")(o)
			},
			want: []string{"spec.analysis.stepWeights", "stepWeights must be in ascending order"},
		},
		"provider must be supported": {
			file: "canary-v1beta1.yaml", mutate: set("consul", "spec", "provider"),
			want: []string{`spec.provider: Unsupported value: "consul"`, `"appmesh:v1beta2"`, `"gatewayapi:v1"`, `"istio"`, `"linkerd"`},
		},
		"linkerd refuses Istio gateways": {
			file: "canary-v1beta1.yaml", mutate: withProvider("linkerd", set([]any{"public-gateway"}, "spec", "service", "gateways")),
			want: []string{"spec.service.gateways is not supported by provider linkerd: it names Istio gateways"},
		},
		"linkerd refuses a traffic policy": {
			file: "canary-v1beta1.yaml", mutate: withProvider("linkerd", set(map[string]any{"tls": map[string]any{"mode": "ISTIO_MUTUAL"}}, "spec", "service", "trafficPolicy")),
			want: []string{"spec.service.trafficPolicy is not supported by provider linkerd: it is an Istio DestinationRule setting"},
		},
		"linkerd refuses mirroring": {
			file: "canary-v1alpha3.yaml", mutate: withProvider("linkerd", set(true, "spec", "canaryAnalysis", "mirror")),
			want: []string{"spec.canaryAnalysis.mirror is not supported by provider linkerd: only providers gatewayapi:v1 and istio mirror requests"},
		},
		"linkerd refuses session affinity": {
			file: "canary-v1beta1.yaml", mutate: withProvider("linkerd", set(map[string]any{"cookieName": "canary"}, "spec", "analysis", "sessionAffinity")),
			want: []string{"spec.analysis.sessionAffinity is not supported by provider linkerd"},
		},
		"linkerd refuses source labels": {
			file: "canary-v1beta1.yaml",
			mutate: withProvider("linkerd", func(o map[string]any) {
				del("spec", "analysis", "stepWeight")(o)
				set(int64(5), "spec", "analysis", "iterations")(o)
				set([]any{map[string]any{"sourceLabels": map[string]any{"app": "frontend"}}}, "spec", "analysis", "match")(o)
			}),
			want: []string{"match[].sourceLabels is not supported by provider linkerd"},
		},
		"istio refuses Gateway API parents": {
			file: "canary-v1beta1.yaml", mutate: withProvider("istio", set([]any{map[string]any{"name": "public"}}, "spec", "service", "gatewayRefs")),
			want: []string{"spec.service.gatewayRefs is not supported by provider istio"},
		},
		"kubernetes refuses weights": {
			file: "canary-v1beta1.yaml", mutate: set("kubernetes", "spec", "provider"),
			want: []string{"spec.analysis.stepWeight and stepWeights are not supported by provider kubernetes: ClusterIP Services cannot split traffic by weight: use iterations (blue/green)"},
		},
		"App Mesh refuses header filters": {
			file: "canary-v1alpha3.yaml", mutate: withProvider("appmesh:v1beta2", set(map[string]any{"request": map[string]any{"set": map[string]any{"x": "1"}}}, "spec", "service", "headers")),
			want: []string{"spec.service.headers is not supported by provider appmesh:v1beta2: only providers gatewayapi:v1, istio and linkerd change request and response headers"},
		},
		"Gateway API refuses Istio gateways": {
			file: "canary-v1beta1.yaml", mutate: set([]any{"public-gateway"}, "spec", "service", "gateways"),
			want: []string{"spec.service.gateways is not supported by provider gatewayapi:v1: it names Istio gateways"},
		},
		"Istio refuses a backend timeout": {
			file: "canary-v1beta1.yaml", mutate: withProvider("istio", set("5s", "spec", "service", "backendTimeout")),
			want: []string{"spec.service.backendTimeout is not supported by provider istio"},
		},
		"mirrorWeight needs mirror": {
			file: "canary-v1beta1.yaml", mutate: set(int64(20), "spec", "analysis", "mirrorWeight"),
			want: []string{"mirrorWeight needs mirror: true"},
		},
		"webhook type must be known": {
			file: "canary-v1beta1.yaml", mutate: setWebhook("type", "pre-deploy"),
			want: []string{`spec.analysis.webhooks[0].type: Unsupported value: "pre-deploy"`, `"confirm-rollout"`},
		},
		"webhook url must be absolute": {
			file: "canary-v1beta1.yaml", mutate: setWebhook("url", "load-tester"),
			want: []string{"spec.analysis.webhooks[0].url", "webhook url must be an absolute http or https URL"},
		},
		"alert severity must be info, warn or error": {
			file: "canary-v1beta1.yaml",
			mutate: set([]any{map[string]any{"name": "on-call", "severity": "critical", "providerRef": map[string]any{"name": "slack"}}},
				"spec", "analysis", "alerts"),
			want: []string{`spec.analysis.alerts[0].severity: Unsupported value: "critical"`, `"info"`, `"warn"`, `"error"`},
		},
		"A/B match needs iterations": {
			file: "canary-v1beta1.yaml",
			mutate: set([]any{map[string]any{"headers": map[string]any{"x-canary": map[string]any{"exact": "insider"}}}},
				"spec", "analysis", "match"),
			want: []string{"spec.analysis", "match (A/B testing) needs iterations"},
		},
		"thresholdRange min must not exceed max": {
			file:   "canary-v1beta1.yaml",
			mutate: set(map[string]any{"min": int64(99), "max": int64(50)}, "spec", "analysis", "metrics", "0", "thresholdRange"),
			want:   []string{"spec.analysis.metrics[0].thresholdRange", "thresholdRange.min must not exceed thresholdRange.max"},
		},
		"a custom metric needs a template": {
			file: "canary-v1beta1.yaml", mutate: set("error-rate", "spec", "analysis", "metrics", "0", "name"),
			want: []string{"spec.analysis.metrics[0]", "only request-success-rate and request-duration are built in"},
		},
		"v1alpha3 requires canaryAnalysis": {
			file: "canary-v1alpha3.yaml", mutate: del("spec", "canaryAnalysis"),
			want: []string{"spec: Invalid value", "spec.analysis is required (spec.canaryAnalysis in flagger.app/v1alpha3)"},
		},
		"v1beta1 requires analysis": {
			file: "canary-v1beta1.yaml", mutate: del("spec", "analysis"),
			want: []string{"spec: Invalid value", "spec.analysis is required (spec.canaryAnalysis in flagger.app/v1alpha3): it says how a new revision is measured and promoted"},
		},
		"webhook url must be http or https": {
			file: "canary-v1beta1.yaml", mutate: setWebhook("url", "file:///var/run/secrets/kubernetes.io/serviceaccount/token"),
			want: []string{"spec.analysis.webhooks[0].url", "webhook url must be an absolute http or https URL"},
		},
		"webhook url must not be a path": {
			file: "canary-v1beta1.yaml", mutate: setWebhook("url", "/gate/check"),
			want: []string{"spec.analysis.webhooks[0].url", "webhook url must be an absolute http or https URL"},
		},
		"webhook url is at most 2048 characters": {
			file: "canary-v1beta1.yaml", mutate: setWebhook("url", "http://x/"+strings.Repeat("a", 2048)),
			want: []string{"spec.analysis.webhooks[0].url: Too long: may not be more than 2048"},
		},
		"webhook timeout must not be 0": {
			file: "canary-v1beta1.yaml", mutate: setWebhook("timeout", "0s"),
			want: []string{"spec.analysis.webhooks[0].timeout", "webhook timeout must be more than 0 and at most 5m"},
		},
		"webhook timeout is at most 5m": {
			file: "canary-v1beta1.yaml", mutate: setWebhook("timeout", "99999999m"),
			want: []string{"spec.analysis.webhooks[0].timeout", "webhook timeout must be more than 0 and at most 5m"},
		},
		"webhook retries are at most 5": {
			file: "canary-v1beta1.yaml", mutate: set(int64(10), "spec", "analysis", "webhooks", "0", "retries"),
			want: []string{"spec.analysis.webhooks[0].retries: Invalid value: 10", "less than or equal to 5"},
		},
		"webhook metadata values are at most 4096 characters": {
			file: "canary-v1beta1.yaml", mutate: set(map[string]any{"cmd": strings.Repeat("x", 4097)}, "spec", "analysis", "webhooks", "0", "metadata"),
			want: []string{"spec.analysis.webhooks[0].metadata", "webhook metadata keys must be at most 253 characters and values at most 4096"},
		},
		"webhook names are unique": {
			file: "canary-v1beta1.yaml",
			mutate: set([]any{map[string]any{"name": "load-test", "url": "http://a/"}, map[string]any{"name": "load-test", "url": "http://b/"}},
				"spec", "analysis", "webhooks"),
			want: []string{"spec.analysis.webhooks", "webhook names must be unique"},
		},
		"at most 20 webhooks": {
			file: "canary-v1beta1.yaml", mutate: set(manyHooks(21), "spec", "analysis", "webhooks"),
			want: []string{"spec.analysis.webhooks: Too many: 21: must have at most 20 items"},
		},
		"metric interval must not be 0": {
			file: "canary-v1beta1.yaml", mutate: set("0s", "spec", "analysis", "metrics", "0", "interval"),
			want: []string{"spec.analysis.metrics[0].interval", "metric interval must be from 1s to 24h"},
		},
		"metric interval is at most a day": {
			file: "canary-v1beta1.yaml", mutate: set("9999h", "spec", "analysis", "metrics", "0", "interval"),
			want: []string{"spec.analysis.metrics[0].interval", "metric interval must be from 1s to 24h"},
		},
		"a metric needs a threshold": {
			file: "canary-v1beta1.yaml", mutate: del("spec", "analysis", "metrics", "0", "thresholdRange"),
			want: []string{"spec.analysis.metrics[0]", "set thresholdRange (or the deprecated threshold), or compare with analysis.judge: a metric without one can never fail"},
		},
		"compare needs the judge": {
			file: "canary-v1beta1.yaml", mutate: setMetric(map[string]any{"name": "request-success-rate", "compare": map[string]any{"allowedDegradation": "+0.5pp"}}),
			want: []string{"spec.analysis", "metrics[].compare needs analysis.judge"},
		},
		"compare and a threshold exclude each other": {
			file: "canary-v1beta1.yaml", mutate: set(map[string]any{"allowedDegradation": "+0.5pp"}, "spec", "analysis", "metrics", "0", "compare"),
			want: []string{"spec.analysis.metrics[0]", "set compare or thresholdRange (threshold), not both"},
		},
		"the judge is not for provider kubernetes": {
			file: "canary-v1beta1.yaml",
			mutate: func(o map[string]any) {
				setMetric(map[string]any{"name": "request-success-rate", "compare": map[string]any{"allowedDegradation": "+0.5pp"}})(o)
				set(map[string]any{"inconclusive": map[string]any{"maxSteps": int64(30), "then": "promote"}}, "spec", "analysis", "judge")(o)
				set("kubernetes", "spec", "provider")(o)
			},
			want: []string{"spec", "spec.analysis.judge is not supported by provider kubernetes"},
		},
		"metric names are unique": {
			file: "canary-v1beta1.yaml", mutate: set("request-success-rate", "spec", "analysis", "metrics", "1", "name"),
			want: []string{"spec.analysis.metrics", "metric names must be unique"},
		},
		"at most 20 metrics": {
			file: "canary-v1beta1.yaml", mutate: set(manyMetrics(21), "spec", "analysis", "metrics"),
			want: []string{"spec.analysis.metrics: Too many: 21: must have at most 20 items"},
		},
		"an inline query is at most 16 KiB": {
			file: "canary-v1beta1.yaml", mutate: setMetric(map[string]any{"name": "q", "query": strings.Repeat("x", 16385), "thresholdRange": map[string]any{"max": int64(1)}}),
			want: []string{"spec.analysis.metrics[0].query: Too long: may not be more than 16384"},
		},
		"a template variable cannot end its string": {
			file: "canary-v1beta1.yaml", mutate: setMetric(templateMetric(map[string]any{"app": `x"} or vector(1) or up{a="`})),
			want: []string{"spec.analysis.metrics[0].templateVariables", "templateVariables values are placed inside quoted PromQL strings"},
		},
		"a template variable cannot hold a backquote": {
			file: "canary-v1beta1.yaml", mutate: setMetric(templateMetric(map[string]any{"app": "x` or vector(1)"})),
			want: []string{"spec.analysis.metrics[0].templateVariables", "must not contain quotes"},
		},
		"a template variable cannot hold a lone backslash": {
			file: "canary-v1beta1.yaml", mutate: setMetric(templateMetric(map[string]any{"app": `podinfo\`})),
			want: []string{"spec.analysis.metrics[0].templateVariables", "a backslash must start one of the escapes"},
		},
		"template variable names are words": {
			file: "canary-v1beta1.yaml", mutate: setMetric(templateMetric(map[string]any{"a b": "x"})),
			want: []string{"spec.analysis.metrics[0].templateVariables", "templateVariables names must be letters, digits"},
		},
		"at most 32 template variables": {
			file: "canary-v1beta1.yaml", mutate: setMetric(templateMetric(manyVariables(33))),
			want: []string{"spec.analysis.metrics[0].templateVariables: Too many: 33: must have at most 32 items"},
		},
		"a templateRef namespace is a namespace name": {
			file: "canary-v1beta1.yaml", mutate: setMetric(map[string]any{"name": "errors", "templateRef": map[string]any{"name": "errors", "namespace": "../kube-system"}, "thresholdRange": map[string]any{"max": int64(1)}}),
			want: []string{"spec.analysis.metrics[0].templateRef.namespace", "should match"},
		},
		"stepWeights do not exceed maxWeight": {
			file: "canary-v1beta1.yaml",
			mutate: func(o map[string]any) {
				del("spec", "analysis", "stepWeight")(o)
				set([]any{int64(10), int64(40), int64(80)}, "spec", "analysis", "stepWeights")(o)
				set(int64(50), "spec", "analysis", "maxWeight")(o)
			},
			want: []string{"spec.analysis.stepWeights", "stepWeights must not exceed maxWeight"},
		},
		"v1alpha3 stepWeight is at most the default maxWeight 50": {
			file: "canary-v1alpha3.yaml", mutate: set(int64(60), "spec", "canaryAnalysis", "stepWeight"),
			want: []string{"spec.canaryAnalysis.stepWeight", "stepWeight must not exceed 50, the maxWeight of a spec.canaryAnalysis without one"},
		},
		"targetRef.name must leave room for -primary and -canary services": {
			file: "canary-v1beta1.yaml", mutate: set(strings.Repeat("p", 56), "spec", "targetRef", "name"),
			want: []string{"spec.targetRef.name", "without spec.service.name, spec.targetRef.name names the Services <name>, <name>-primary and <name>-canary"},
		},
		"targetRef.name must be a DNS label without service.name": {
			file: "canary-v1beta1.yaml", mutate: set("podinfo.v2", "spec", "targetRef", "name"),
			want: []string{"spec.targetRef.name", "must be a DNS label"},
		},
		"targetRef.name must leave room for -primary": {
			file: "canary-v1beta1.yaml",
			mutate: func(o map[string]any) {
				set(strings.Repeat("p", 250), "spec", "targetRef", "name")(o)
				set("podinfo", "spec", "service", "name")(o)
			},
			want: []string{"spec.targetRef.name", "spec.targetRef.name must be at most 245 characters: the primary Deployment is named <name>-primary"},
		},
		"service.name is at most 55 characters": {
			file: "canary-v1beta1.yaml", mutate: set(strings.Repeat("s", 56), "spec", "service", "name"),
			want: []string{"spec.service.name: Too long: may not be more than 55"},
		},
		"metricsServer must be an absolute URL": {
			file: "canary-v1beta1.yaml", mutate: set("prometheus:9090", "spec", "metricsServer"),
			want: []string{"spec.metricsServer", "spec.metricsServer must be an absolute http or https URL"},
		},
		"at most 10 alerts": {
			file: "canary-v1beta1.yaml", mutate: set(manyAlerts(11), "spec", "analysis", "alerts"),
			want: []string{"spec.analysis.alerts: Too many: 11: must have at most 10 items"},
		},
		"MetricTemplate credentials need the template's own address": {
			file: "metrictemplate.yaml",
			mutate: func(o map[string]any) {
				del("spec", "provider", "address")(o)
				set(map[string]any{"name": "prom-auth"}, "spec", "provider", "secretRef")(o)
			},
			want: []string{"spec.provider.address", "provider.address is required with provider.secretRef: the Secret's credentials are only ever sent to the address written next to them"},
		},
		"MetricTemplate address must be http or https": {
			file: "metrictemplate.yaml", mutate: set("gopher://prometheus:9090", "spec", "provider", "address"),
			want: []string{"spec.provider.address", "provider.address must be an absolute http or https URL"},
		},
		"MetricTemplate query is at most 16 KiB": {
			file: "metrictemplate.yaml", mutate: set(strings.Repeat("x", 16385), "spec", "query"),
			want: []string{"spec.query: Too long: may not be more than 16384"},
		},
		"AlertProvider address must be http or https": {
			file: "alertprovider.yaml", mutate: set("javascript:alert(1)", "spec", "address"),
			want: []string{"spec.address", "address must be an absolute http or https URL"},
		},
		"AlertProvider proxy must be http or https": {
			file: "alertprovider.yaml", mutate: set("socks5://proxy:1080", "spec", "proxy"),
			want: []string{"spec.proxy", "proxy must be an absolute http or https URL"},
		},
		"analysis and canaryAnalysis exclude each other": {
			file: "canary-v1beta1.yaml",
			mutate: func(o map[string]any) {
				a, _, _ := unstructured.NestedFieldCopy(o, "spec", "analysis")
				set(a, "spec", "canaryAnalysis")(o)
			},
			want: []string{"spec.analysis and spec.canaryAnalysis are the same setting under two names"},
		},
		"MetricTemplate provider must be prometheus": {
			file: "metrictemplate.yaml", mutate: set("datadog", "spec", "provider", "type"),
			want: []string{`spec.provider.type: Unsupported value: "datadog"`, `"prometheus"`},
		},
		"AlertProvider type must be known": {
			file: "alertprovider.yaml", mutate: set("pagerduty", "spec", "type"),
			want: []string{`spec.type: Unsupported value: "pagerduty"`, `"slack"`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			obj := framework.ReadObjects(t, tc.file)[0]
			obj.SetNamespace(ns)
			tc.mutate(obj.Object)
			err := e.Client.Create(context.Background(), obj, client.DryRunAll)
			if err == nil {
				t.Fatalf("the API server accepted the invalid %s", tc.file)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("rejection does not contain %q:\n%v", w, err)
				}
			}
		})
	}
	// The valid starting points are accepted, so each rejection above is
	// caused by its mutation; so are the fields each mesh honours.
	for _, file := range []string{"canary-v1beta1.yaml", "canary-v1alpha3.yaml", "metrictemplate.yaml", "alertprovider.yaml"} {
		obj := framework.ReadObjects(t, file)[0]
		obj.SetNamespace(ns)
		if err := e.Client.Create(context.Background(), obj, client.DryRunAll); err != nil {
			t.Errorf("valid %s rejected: %v", file, err)
		}
	}
	for provider, field := range map[string]string{"istio": "trafficPolicy", "linkerd": "headers"} {
		obj := framework.ReadObjects(t, "canary-v1beta1.yaml")[0]
		obj.SetNamespace(ns)
		withProvider(provider, set(map[string]any{"request": map[string]any{"set": map[string]any{"x": "1"}}}, "spec", "service", field))(obj.Object)
		if provider == "istio" {
			set(map[string]any{"connectionPool": map[string]any{"http": map[string]any{"http1MaxPendingRequests": int64(10)}}}, "spec", "service", field)(obj.Object)
		}
		if err := e.Client.Create(context.Background(), obj, client.DryRunAll); err != nil {
			t.Errorf("a %s canary with %s rejected: %v", provider, field, err)
		}
	}
}

// withProvider sets spec.provider, then applies mutate.
func withProvider(provider string, mutate func(map[string]any)) func(map[string]any) {
	return func(o map[string]any) {
		set(provider, "spec", "provider")(o)
		mutate(o)
	}
}

// set returns a mutation that sets the value at path; a numeric path
// element indexes a list.
func set(value any, path ...string) func(map[string]any) {
	return func(o map[string]any) {
		parent := walk(o, path[:len(path)-1])
		parent[path[len(path)-1]] = value
	}
}

// del returns a mutation that deletes the field at path.
func del(path ...string) func(map[string]any) {
	return func(o map[string]any) {
		delete(walk(o, path[:len(path)-1]), path[len(path)-1])
	}
}

func setWebhook(field, value string) func(map[string]any) {
	return set(value, "spec", "analysis", "webhooks", "0", field)
}

// setMetric replaces the first metric.
func setMetric(metric map[string]any) func(map[string]any) {
	return func(o map[string]any) {
		walk(o, []string{"spec", "analysis"})["metrics"].([]any)[0] = metric
	}
}

// templateMetric is a template metric with variables.
func templateMetric(variables map[string]any) map[string]any {
	return map[string]any{"name": "errors", "templateRef": map[string]any{"name": "errors"},
		"templateVariables": variables, "thresholdRange": map[string]any{"max": int64(1)}}
}

func manyHooks(n int) []any {
	var out []any
	for i := range n {
		out = append(out, map[string]any{"name": fmt.Sprintf("hook-%d", i), "url": "http://load-tester/"})
	}
	return out
}

func manyMetrics(n int) []any {
	var out []any
	for i := range n {
		out = append(out, map[string]any{"name": fmt.Sprintf("m-%d", i), "query": "vector(1)", "thresholdRange": map[string]any{"max": int64(1)}})
	}
	return out
}

func manyAlerts(n int) []any {
	var out []any
	for i := range n {
		out = append(out, map[string]any{"name": fmt.Sprintf("a-%d", i), "providerRef": map[string]any{"name": "slack"}})
	}
	return out
}

func manyVariables(n int) map[string]any {
	out := map[string]any{}
	for i := range n {
		out[fmt.Sprintf("v%d", i)] = "x"
	}
	return out
}

func walk(o map[string]any, path []string) map[string]any {
	cur := any(o)
	for _, p := range path {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[p]
		case []any:
			i := 0
			for _, ch := range p {
				i = i*10 + int(ch-'0')
			}
			cur = v[i]
		}
	}
	return cur.(map[string]any)
}
