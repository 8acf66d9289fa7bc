package e2e

import (
	"context"
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
			file: "canary-v1beta1.yaml", mutate: set("istio", "spec", "provider"),
			want: []string{`spec.provider: Unsupported value: "istio"`, `"appmesh:v1beta2"`, `"gatewayapi:v1"`},
		},
		"webhook type must be known": {
			file: "canary-v1beta1.yaml", mutate: setWebhook("type", "pre-deploy"),
			want: []string{`spec.analysis.webhooks[0].type: Unsupported value: "pre-deploy"`, `"confirm-rollout"`},
		},
		"webhook url must be absolute": {
			file: "canary-v1beta1.yaml", mutate: setWebhook("url", "load-tester"),
			want: []string{"spec.analysis.webhooks[0].url", "webhook url must be an absolute URL"},
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
			want: []string{"spec.canaryAnalysis is required in flagger.app/v1alpha3"},
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
	// caused by its mutation.
	for _, file := range []string{"canary-v1beta1.yaml", "canary-v1alpha3.yaml", "metrictemplate.yaml", "alertprovider.yaml"} {
		obj := framework.ReadObjects(t, file)[0]
		obj.SetNamespace(ns)
		if err := e.Client.Create(context.Background(), obj, client.DryRunAll); err != nil {
			t.Errorf("valid %s rejected: %v", file, err)
		}
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
