package view

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

var t0 = time.Date(2026, 11, 25, 18, 55, 52, 0, time.UTC)

func newCanary(mutate ...func(c *flaggerv1.Canary)) *flaggerv1.Canary {
	c := &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test", UID: "u1"},
		Spec: flaggerv1.CanarySpec{
			TargetRef: flaggerv1.TargetReference{Kind: "Deployment", Name: "podinfo"},
			Analysis:  &flaggerv1.CanaryAnalysis{Interval: "10s", StepWeight: 5, MaxWeight: 50, Threshold: 5},
		},
	}
	for _, m := range mutate {
		m(c)
	}
	return c
}

func halted(c *flaggerv1.Canary) {
	c.Status.Phase = flaggerv1.CanaryPhaseProgressing
	c.Status.CanaryWeight = 10
	c.Status.FailedChecks = 2
	c.Status.LastAnalysis = &flaggerv1.AnalysisRecord{
		Time: metav1.NewTime(t0), CanaryWeight: 10,
		Checks: []flaggerv1.CheckResult{
			{Name: "request-success-rate", Kind: "metric", Value: "60.00", Threshold: ">= 99", Message: "Halt podinfo.test advancement success rate 60.00% < 99%"},
			{Name: "request-duration", Kind: "metric", Value: "24.85", Threshold: "<= 500", Passed: true},
		},
		Decision: "Halt podinfo.test advancement success rate 60.00% < 99%",
	}
}

func TestExplainSaysWhyTheLastStepHaltedInWordsAndNumbers(t *testing.T) {
	cases := map[string]struct {
		canary *flaggerv1.Canary
		want   []string // lines the explanation must contain, in order
	}{
		"a halted canary": {
			canary: newCanary(halted),
			want: []string{
				"podinfo.test is Progressing: canary weight 10 of at most 50, 2 of 5 failed checks.",
				"The last analysis run, at 18:55:52 UTC with canary weight 10, failed.",
				"request-success-rate: 60.00 against >= 99: failed (Halt podinfo.test advancement success rate 60.00% < 99%)",
				"request-duration: 24.85 against <= 500: passed",
				"Halt podinfo.test advancement success rate 60.00% < 99%",
				"3 more failed checks roll it back.",
				"The next analysis run is due at 18:56:02 UTC.",
				"kubectl serin promote podinfo promotes it now; kubectl serin abort podinfo rolls it back.",
			},
		},
		"a paused canary names who paused it": {
			canary: newCanary(halted, func(c *flaggerv1.Canary) {
				c.Status.Levers = &flaggerv1.LeverStatus{Pause: &flaggerv1.LeverRecord{ID: "p", RequestedBy: "kubectl-serin:jane", Time: metav1.NewTime(t0), Applied: true}}
			}),
			want: []string{"Paused by kubectl-serin:jane at 18:55:52 UTC: kubectl serin resume podinfo lets it go on."},
		},
		"a failed canary points to retry": {
			canary: newCanary(func(c *flaggerv1.Canary) {
				c.Status.Phase = flaggerv1.CanaryPhaseFailed
				c.Status.FailedChecks = 5
			}),
			want: []string{
				"podinfo.test rolled back its last release after 5 failed checks; all traffic goes to the primary.",
				"kubectl serin retry podinfo runs the analysis of the same revision again.",
			},
		},
		"a canary the operator cannot reconcile says why": {
			canary: newCanary(func(c *flaggerv1.Canary) {
				c.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: "TargetNotFound", Message: "Deployment podinfo not found"}}
			}),
			want: []string{"podinfo.test is not initialized yet.", "The operator cannot reconcile it (TargetNotFound): Deployment podinfo not found"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := Explain(tc.canary)
			lines := append([]string{e.Headline, e.Run}, e.Checks...)
			lines = append(append(lines, e.Decision), e.Next...)
			i := 0
			for _, l := range lines {
				if i < len(tc.want) && l == tc.want[i] {
					i++
				}
			}
			if i < len(tc.want) {
				t.Errorf("explanation misses %q; got:\n%s", tc.want[i], strings.Join(lines, "\n"))
			}
		})
	}
}

func TestSeriesFollowEachMetricAlongTheHistory(t *testing.T) {
	rec := func(sec, weight int, value string, passed bool) flaggerv1.HistoryRecord {
		return flaggerv1.HistoryRecord{Phase: flaggerv1.CanaryPhaseProgressing,
			Time: metav1.NewTime(t0.Add(time.Duration(sec) * time.Second)), CanaryWeight: weight,
			Checks: []flaggerv1.CheckResult{
				{Name: "load-test", Kind: "rollout", Passed: true},
				{Name: "request-success-rate", Kind: "metric", Value: value, Threshold: ">= 99", Passed: passed},
			}}
	}
	c := newCanary(func(c *flaggerv1.Canary) {
		c.Status.History = []flaggerv1.HistoryRecord{rec(0, 0, "100.00", true), rec(10, 5, "", false), rec(20, 5, "98.50", false)}
	})
	d := Describe(c, nil)
	if len(d.Series) != 1 {
		t.Fatalf("series %+v, want one for the metric only", d.Series)
	}
	s := d.Series[0]
	var values []float64
	for _, p := range s.Points {
		values = append(values, p.Value)
	}
	if s.Name != "request-success-rate" || s.Min == nil || *s.Min != 99 || s.Max != nil || !slices.Equal(values, []float64{100, 98.5}) {
		t.Errorf("series %+v (values %v), want request-success-rate >= 99 with 100 and 98.5 (the run without a value left out)", s, values)
	}
}

func TestParseThresholdReadsWhatChecksWrite(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	cases := map[string]struct {
		text   string
		lo, hi *float64
	}{
		"a minimum":   {text: ">= 99", lo: f(99)},
		"a maximum":   {text: "<= 500", hi: f(500)},
		"a range":     {text: "0.5 .. 1.5", lo: f(0.5), hi: f(1.5)},
		"no bounds":   {text: ""},
		"not a bound": {text: ">= lots"},
	}
	eq := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			lo, hi := ParseThreshold(tc.text)
			if !eq(lo, tc.lo) || !eq(hi, tc.hi) {
				t.Errorf("ParseThreshold(%q) = %v, %v", tc.text, lo, hi)
			}
		})
	}
}

func TestDetailKeepsTheCanarysOwnEventsAndHidesWebhookURLs(t *testing.T) {
	c := newCanary(func(c *flaggerv1.Canary) {
		c.Spec.Analysis.Webhooks = []flaggerv1.CanaryWebhook{
			{Name: "approve", Type: flaggerv1.ConfirmPromotionHook, URL: "http://gate/?token=secret"},
			{Name: "load-test", URL: "http://loadtester/"},
		}
	})
	ev := func(name string, uid string, msg string, at time.Time) corev1.Event {
		return corev1.Event{
			InvolvedObject: corev1.ObjectReference{Kind: "Canary", Namespace: "test", Name: name, UID: types.UID("u" + uid)},
			Message:        msg, Type: "Normal", LastTimestamp: metav1.NewTime(at),
		}
	}
	d := Describe(c, []corev1.Event{
		ev("podinfo", "1", "second", t0.Add(time.Second)), ev("podinfo", "1", "first", t0),
		ev("other", "1", "not ours", t0), ev("podinfo", "0", "an earlier canary of the same name", t0),
	})
	var msgs []string
	for _, e := range d.Events {
		msgs = append(msgs, e.Message)
	}
	if !slices.Equal(msgs, []string{"first", "second"}) {
		t.Errorf("events %q, want first and second only", msgs)
	}
	if len(d.Gates) != 1 || d.Gates[0] != (Hook{Name: "approve", Type: "confirm-promotion"}) || len(d.Hooks) != 1 || d.Hooks[0].Type != "rollout" {
		t.Errorf("gates %+v, hooks %+v", d.Gates, d.Hooks)
	}
}
