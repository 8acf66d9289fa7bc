package replay

import (
	"io"
	"strconv"
	"strings"
	"testing"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

func TestApplyJudgesTheBuiltInMetricsUnderTheChosenPolicy(t *testing.T) {
	judged := func() *flaggerv1.Canary {
		c := seedCanary("")
		a := c.Spec.Analysis
		a.Judge = &flaggerv1.CanaryJudge{Confidence: 95, Inconclusive: flaggerv1.JudgeInconclusivePolicy{MaxSteps: 3, Then: "fail"}}
		a.Metrics[0].ThresholdRange, a.Metrics[0].Compare = nil, &flaggerv1.MetricComparison{AllowedDegradation: "+1pp"}
		a.Metrics[1].ThresholdRange, a.Metrics[1].Compare = nil, &flaggerv1.MetricComparison{AllowedDegradation: "+20%"}
		return c
	}
	withTemplateComparison := func() *flaggerv1.Canary {
		c := judged()
		c.Spec.Analysis.Metrics[0].TemplateRef = &flaggerv1.CrossNamespaceObjectReference{Name: "errors"}
		return c
	}
	tests := map[string]struct {
		// canary is the manifest's canary.
		canary *flaggerv1.Canary
		policy Policy
		// want describes the judged metrics: name=compare or name=min/max.
		want string
		// wantJudge is the judge's confidence and policy, "" when none.
		wantJudge string
		// wantErr is a part of the error; empty when none is expected.
		wantErr string
	}{
		"as written keeps the thresholds":                {canary: seedCanary(""), policy: AsWritten, want: "request-success-rate>=99 request-duration<=500"},
		"as written keeps the judge":                     {canary: judged(), policy: AsWritten, want: "request-success-rate~+1pp request-duration~+20%", wantJudge: "95 3 fail"},
		"--judge compares the seed's metrics":            {canary: seedCanary(""), policy: Judge, want: "request-success-rate~+0.5pp request-duration~+10%", wantJudge: "99 30 promote"},
		"--judge keeps the manifest's judge":             {canary: judged(), policy: Judge, want: "request-success-rate~+1pp request-duration~+20%", wantJudge: "95 3 fail"},
		"--thresholds falls back on the seed's":          {canary: judged(), policy: Thresholds, want: "request-success-rate>=99 request-duration<=500"},
		"--thresholds refuses a template comparison":     {canary: withTemplateComparison(), policy: Thresholds, wantErr: "metric request-success-rate has compare and no threshold"},
		"--judge refuses a canary with nothing to judge": {canary: canaryWith(flaggerv1.CanaryMetric{Name: "cpu", TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "cpu"}}), policy: Judge, wantErr: "no metric to compare"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Apply(tc.canary, tc.policy)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := describeMetrics(c); got != tc.want {
				t.Errorf("metrics %q, want %q", got, tc.want)
			}
			gotJudge := ""
			if j := c.Spec.Analysis.Judge; j != nil {
				gotJudge = strings.Join([]string{trimFloat(j.Confidence), itoa(j.Inconclusive.MaxSteps), j.Inconclusive.Then}, " ")
			}
			if gotJudge != tc.wantJudge {
				t.Errorf("judge %q, want %q", gotJudge, tc.wantJudge)
			}
		})
	}
}

func TestLoadReadsOneCanaryAndItsTemplatesAndRefusesTheRest(t *testing.T) {
	const canary = "apiVersion: flagger.app/v1alpha3\nkind: Canary\nmetadata: {name: podinfo, namespace: test}\nspec:\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}\n  service: {port: 9898}\n  canaryAnalysis: {interval: 1m, stepWeight: 5}\n"
	const template = "apiVersion: flagger.app/v1beta1\nkind: MetricTemplate\nmetadata: {name: errors}\nspec:\n  provider: {type: prometheus, address: http://prometheus:9090}\n  query: sum(x)\n"
	tests := map[string]struct {
		files   map[string]string
		wantErr string
	}{
		"a v1alpha3 canary and a template in one file": {files: map[string]string{"a.yaml": canary + "---\n" + template}},
		"no canary":                    {files: map[string]string{"t.yaml": template}, wantErr: "no Canary"},
		"two canaries":                 {files: map[string]string{"a.yaml": canary + "---\n" + canary}, wantErr: "a second Canary"},
		"another kind":                 {files: map[string]string{"a.yaml": canary + "---\napiVersion: apps/v1\nkind: Deployment\n"}, wantErr: "replay reads flagger.app Canary and MetricTemplate"},
		"an unknown field":             {files: map[string]string{"a.yaml": canary + "  bogus: 1\n"}, wantErr: "bogus"},
		"a canary without a namespace": {files: map[string]string{"a.yaml": strings.Replace(canary, ", namespace: test", "", 1)}, wantErr: "has no metadata.namespace"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			files := map[string]io.Reader{}
			for n, text := range tc.files {
				files[n] = strings.NewReader(text)
			}
			m, err := Load(files)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Canary.GetInterval().String() != "1m0s" || len(m.Templates) != 1 || m.Templates[0].Spec.Query != "sum(x)" {
				t.Errorf("loaded canary interval %s, templates %+v", m.Canary.GetInterval(), m.Templates)
			}
		})
	}
}

func canaryWith(metrics ...flaggerv1.CanaryMetric) *flaggerv1.Canary {
	c := seedCanary("")
	c.Spec.Analysis.Metrics = metrics
	return c
}

// describeMetrics writes each metric as name~margin or name>=min / name<=max.
func describeMetrics(c *flaggerv1.Canary) string {
	var parts []string
	for _, m := range c.Spec.Analysis.Metrics {
		switch {
		case m.Compare != nil:
			parts = append(parts, m.Name+"~"+m.Compare.AllowedDegradation)
		case m.ThresholdRange != nil && m.ThresholdRange.Min != nil:
			parts = append(parts, m.Name+">="+trimFloat(*m.ThresholdRange.Min))
		case m.ThresholdRange != nil && m.ThresholdRange.Max != nil:
			parts = append(parts, m.Name+"<="+trimFloat(*m.ThresholdRange.Max))
		}
	}
	return strings.Join(parts, " ")
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func itoa(i int) string { return strconv.Itoa(i) }
