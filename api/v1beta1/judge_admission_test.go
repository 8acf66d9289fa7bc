package v1beta1_test

import (
	"fmt"
	"strings"
	"testing"
)

// judgedCanary is a valid Canary with the judge on: the seed's analysis
// with its two built-in metrics compared with the primary.
func judgedCanary(analysisField string) map[string]any {
	return map[string]any{
		"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
		"metadata": map[string]any{"name": "podinfo", "namespace": "test"},
		"spec": map[string]any{
			"provider":  "appmesh:v1beta2",
			"targetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
			"service":   map[string]any{"port": int64(9898)},
			analysisField: map[string]any{
				"interval": "10s", "stepWeight": int64(5), "maxWeight": int64(50), "threshold": int64(5),
				"judge": map[string]any{"confidence": 99.0, "inconclusive": map[string]any{"maxSteps": int64(30), "then": "promote"}},
				"metrics": []any{
					map[string]any{"name": "request-success-rate", "compare": map[string]any{"allowedDegradation": "+0.5pp"}},
					map[string]any{"name": "request-duration", "compare": map[string]any{"allowedDegradation": "+10%"}},
					map[string]any{"name": "cpu", "templateRef": map[string]any{"name": "cpu"}, "thresholdRange": map[string]any{"max": 80.0}},
				},
			},
		},
	}
}

// at returns the map or list element at a path of keys and indices.
func at(o any, path ...string) any {
	for _, p := range path {
		switch v := o.(type) {
		case map[string]any:
			o = v[p]
		case []any:
			var i int
			fmt.Sscan(p, &i)
			o = v[i]
		}
	}
	return o
}

func TestTheJudgeAndComparisonsAreRefusedAtAdmissionWithMessagesNamingTheField(t *testing.T) {
	cases := map[string]struct {
		// mutate changes the valid judged canary; the analysis is under
		// the field name given.
		mutate func(spec map[string]any, analysis map[string]any)
		// want are substrings of one refusal; none means admitted.
		want []string
	}{
		"the judged canary is admitted": {
			mutate: func(map[string]any, map[string]any) {},
		},
		"the judge without confidence is admitted (99 by default)": {
			mutate: func(_, a map[string]any) { delete(a["judge"].(map[string]any), "confidence") },
		},
		"compare with thresholdRange is refused": {
			mutate: func(_, a map[string]any) {
				at(a, "metrics", "0").(map[string]any)["thresholdRange"] = map[string]any{"min": 99.0}
			},
			want: []string{"metrics[0]", "set compare or thresholdRange (threshold), not both"},
		},
		"compare with the deprecated threshold is refused": {
			mutate: func(_, a map[string]any) { at(a, "metrics", "1").(map[string]any)["threshold"] = 500.0 },
			want:   []string{"metrics[1]", "set compare or thresholdRange (threshold), not both"},
		},
		"compare without the judge is refused": {
			mutate: func(_, a map[string]any) { delete(a, "judge") },
			want:   []string{"metrics[].compare needs analysis.judge"},
		},
		"the judge without compare is refused": {
			mutate: func(_, a map[string]any) {
				a["metrics"] = []any{map[string]any{"name": "request-success-rate", "thresholdRange": map[string]any{"min": 99.0}}}
			},
			want: []string{"judge", "analysis.judge needs at least one metric with compare"},
		},
		"the judge on blue/green is refused": {
			mutate: func(_, a map[string]any) {
				delete(a, "stepWeight")
				delete(a, "maxWeight")
				a["iterations"] = int64(10)
			},
			want: []string{"judge", "needs a weighted canary (stepWeight or stepWeights)", "do not split traffic at random"},
		},
		"the judge on A/B testing is refused": {
			mutate: func(_, a map[string]any) {
				delete(a, "stepWeight")
				delete(a, "maxWeight")
				a["iterations"] = int64(10)
				a["match"] = []any{map[string]any{"headers": map[string]any{"x-canary": map[string]any{"exact": "insider"}}}}
			},
			want: []string{"judge", "needs a weighted canary"},
		},
		"the judge with provider kubernetes is refused": {
			mutate: func(s, _ map[string]any) { s["provider"] = "kubernetes" },
			want:   []string{"judge is not supported by provider kubernetes"},
		},
		"an error rate margin in percent is refused": {
			mutate: func(_, a map[string]any) {
				at(a, "metrics", "0", "compare").(map[string]any)["allowedDegradation"] = "+0.5%"
			},
			want: []string{"request-success-rate compares error rates", "percentage points"},
		},
		"a latency margin in percentage points is refused": {
			mutate: func(_, a map[string]any) {
				at(a, "metrics", "1", "compare").(map[string]any)["allowedDegradation"] = "+10pp"
			},
			want: []string{"request-duration compares latencies", "percent"},
		},
		"a margin without a unit is refused": {
			mutate: func(_, a map[string]any) {
				at(a, "metrics", "0", "compare").(map[string]any)["allowedDegradation"] = "0.5"
			},
			want: []string{"metrics[0].compare.allowedDegradation", "should match"},
		},
		"a negative margin is refused": {
			mutate: func(_, a map[string]any) {
				at(a, "metrics", "0", "compare").(map[string]any)["allowedDegradation"] = "-0.5pp"
			},
			want: []string{"metrics[0].compare.allowedDegradation", "should match"},
		},
		"an error rate margin above 50pp is refused": {
			mutate: func(_, a map[string]any) {
				at(a, "metrics", "0", "compare").(map[string]any)["allowedDegradation"] = "+60pp"
			},
			want: []string{"metrics[0].compare.allowedDegradation", "at most +50pp"},
		},
		"a latency margin above 10000% is refused": {
			mutate: func(_, a map[string]any) {
				at(a, "metrics", "1", "compare").(map[string]any)["allowedDegradation"] = "+20000%"
			},
			want: []string{"metrics[1].compare.allowedDegradation", "at most +10000%"},
		},
		"compare on an inline query is refused": {
			mutate: func(_, a map[string]any) {
				a["metrics"] = []any{map[string]any{"name": "errors", "query": "vector(1)", "compare": map[string]any{"allowedDegradation": "+1pp"}}}
			},
			want: []string{"an inline query has no primary-side query"},
		},
		"compare on a template metric takes either unit": {
			mutate: func(_, a map[string]any) {
				a["metrics"] = []any{map[string]any{"name": "request-success-rate", "templateRef": map[string]any{"name": "lat"}, "compare": map[string]any{"allowedDegradation": "+20%"}}}
			},
		},
		"confidence below 50 is refused": {
			mutate: func(_, a map[string]any) { a["judge"].(map[string]any)["confidence"] = 40.0 },
			want:   []string{"judge.confidence", "greater than or equal to 50"},
		},
		"confidence above 99.99 is refused": {
			mutate: func(_, a map[string]any) { a["judge"].(map[string]any)["confidence"] = 100.0 },
			want:   []string{"judge.confidence", "less than or equal to 99.99"},
		},
		"the inconclusive policy is required": {
			mutate: func(_, a map[string]any) { delete(a["judge"].(map[string]any), "inconclusive") },
			want:   []string{"judge.inconclusive", "Required value"},
		},
		"maxSteps is at most 10000": {
			mutate: func(_, a map[string]any) { at(a, "judge", "inconclusive").(map[string]any)["maxSteps"] = int64(10001) },
			want:   []string{"judge.inconclusive.maxSteps", "less than or equal to 10000"},
		},
		"then is promote or fail": {
			mutate: func(_, a map[string]any) { at(a, "judge", "inconclusive").(map[string]any)["then"] = "wait" },
			want:   []string{"judge.inconclusive.then", `Unsupported value: "wait"`, `"promote"`, `"fail"`},
		},
	}
	admissions := map[string]*admission{}
	for _, v := range []string{"v1beta1", "v1alpha3"} {
		admissions[v] = newAdmission(t, "flagger.app_canaries.yaml", v)
	}
	for name, tc := range cases {
		for _, v := range []struct{ version, field string }{{"v1beta1", "analysis"}, {"v1alpha3", "canaryAnalysis"}} {
			t.Run(name+" in "+v.version, func(t *testing.T) {
				a := admissions[v.version]
				obj := judgedCanary(v.field)
				obj["apiVersion"] = "flagger.app/" + v.version
				spec := obj["spec"].(map[string]any)
				tc.mutate(spec, spec[v.field].(map[string]any))
				assertRefusal(t, a.errors(obj).ToAggregate(), strings.ReplaceAll(strings.Join(tc.want, "\x00"), "spec.analysis", "spec."+v.field), tc.want)
			})
		}
	}
}

// assertRefusal checks that err contains every wanted substring (or, with
// none wanted, that there is no error). joined holds the wanted substrings
// adapted to the version under test, separated by NUL.
func assertRefusal(t *testing.T, err error, joined string, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("admitted; want a refusal with %q", want)
	}
	for _, w := range strings.Split(joined, "\x00") {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal %q does not say %q", err, w)
		}
	}
}

func TestMetricTemplateComparisonsAreRefusedAtAdmissionWithMessagesNamingTheField(t *testing.T) {
	const requests = `sum(increase(http_requests_total{pod=~"{{ workload }}-.*"}[{{ window }}]))`
	cases := map[string]struct {
		// spec is the MetricTemplate's spec.
		spec map[string]any
		// want are substrings of the refusal; none means admitted.
		want []string
	}{
		"an error-rate comparison without a threshold query is admitted": {
			spec: map[string]any{"compare": map[string]any{"kind": "errorRate", "requests": requests, "errors": requests}},
		},
		"a latency comparison beside a threshold query is admitted": {
			spec: map[string]any{"query": "vector(1)", "compare": map[string]any{"kind": "latency", "buckets": requests}},
		},
		"neither query nor compare is refused": {
			spec: map[string]any{},
			want: []string{"set query (for thresholds), compare (for the judge), or both"},
		},
		"an error-rate comparison needs errors": {
			spec: map[string]any{"compare": map[string]any{"kind": "errorRate", "requests": requests}},
			want: []string{"spec.compare", "compare.kind errorRate needs compare.requests and compare.errors"},
		},
		"an error-rate comparison takes no buckets": {
			spec: map[string]any{"compare": map[string]any{"kind": "errorRate", "requests": requests, "errors": requests, "buckets": requests}},
			want: []string{"spec.compare", "and no compare.buckets"},
		},
		"a latency comparison needs buckets": {
			spec: map[string]any{"compare": map[string]any{"kind": "latency", "requests": requests}},
			want: []string{"spec.compare", "compare.kind latency needs compare.buckets"},
		},
		"the kind is errorRate or latency": {
			spec: map[string]any{"compare": map[string]any{"kind": "p99", "buckets": requests}},
			want: []string{"spec.compare.kind", `Unsupported value: "p99"`},
		},
		"a comparison query is at most 16 KiB": {
			spec: map[string]any{"compare": map[string]any{"kind": "latency", "buckets": strings.Repeat("x", 16385)}},
			want: []string{"spec.compare.buckets", "may not be more than 16384"},
		},
	}
	a := newAdmission(t, "flagger.app_metrictemplates.yaml", "v1beta1")
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tc.spec["provider"] = map[string]any{"type": "prometheus"}
			obj := map[string]any{
				"apiVersion": "flagger.app/v1beta1", "kind": "MetricTemplate",
				"metadata": map[string]any{"name": "errors", "namespace": "test"},
				"spec":     tc.spec,
			}
			assertRefusal(t, a.errors(obj).ToAggregate(), strings.Join(tc.want, "\x00"), tc.want)
		})
	}
}
