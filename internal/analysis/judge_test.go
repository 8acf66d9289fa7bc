package analysis

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/judge"
)

// judged turns the judge on, comparing request-success-rate within +0.5pp,
// with the inconclusive policy given.
func judged(maxSteps int, then string) canaryOpt {
	return func(c *flaggerv1.Canary) {
		a := c.Spec.Analysis
		a.Judge = &flaggerv1.CanaryJudge{Confidence: 99, Inconclusive: flaggerv1.JudgeInconclusivePolicy{MaxSteps: maxSteps, Then: then}}
		a.Metrics = []flaggerv1.CanaryMetric{{Name: "request-success-rate", Compare: &flaggerv1.MetricComparison{AllowedDegradation: "+0.5pp"}}}
	}
}

// judgeSince sets the judge's evidence: its window started at since, and
// it has been inconclusive for steps steps.
func judgeSince(since time.Time, steps int) canaryOpt {
	return func(c *flaggerv1.Canary) {
		s := metav1.NewTime(since)
		c.Status.Judge = &flaggerv1.JudgeStatus{Since: &s, Looks: steps, InconclusiveSteps: steps}
	}
}

// errorCounts is one request-success-rate comparison.
func errorCounts(canaryRequests, canaryErrors, primaryRequests, primaryErrors float64) []ComparisonResult {
	return []ComparisonResult{{Name: "request-success-rate", Kind: judge.ErrorRate, AllowedDegradation: "+0.5pp", Window: judge.Window{
		Canary:  judge.Sample{Counts: judge.Counts{Requests: canaryRequests, Errors: canaryErrors}},
		Primary: judge.Sample{Counts: judge.Counts{Requests: primaryRequests, Errors: primaryErrors}},
	}}}
}

func TestTheJudgeDecidesTheStep(t *testing.T) {
	now := t0.Add(10 * time.Second)
	cases := map[string]struct {
		// canary is the canary before the step (judged, analysed at t0).
		canary *flaggerv1.Canary
		// comparisons answer Compare.
		comparisons []ComparisonResult
		// obs changes the healthy observation.
		obs func(*Observation)
		// want* describe the step; zero values are checked too.
		wantPhase        flaggerv1.CanaryPhase
		wantWeight       int
		wantFailedChecks int
		// wantDecision is the start of status.lastAnalysis.decision.
		wantDecision string
		// wantPassed is status.lastAnalysis.passed.
		wantPassed bool
		// wantWindows are the windows Compare was asked for.
		wantWindows []time.Duration
		// wantLooks and wantSince describe status.judge afterwards (nil:
		// no judge status).
		wantLooks int
		wantSince *time.Time
		// wantVerdict is the comparison's verdict in lastAnalysis.
		wantVerdict string
		// wantEvent is an event the step must record, when not empty.
		wantEvent string
	}{
		"at weight 0 the judge starts its clock and the canary advances": {
			canary:    newCanary(judged(30, "promote"), analysedAt(t0)),
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 5, wantDecision: "Advance podinfo.test canary weight 5", wantPassed: true,
			wantSince: &now,
		},
		"an inconclusive look holds the weight and says how much more data is needed": {
			canary:      newCanary(judged(30, "promote"), atWeight(5), analysedAt(t0), judgeSince(t0, 0)),
			comparisons: errorCounts(40, 0, 800, 1),
			wantPhase:   flaggerv1.CanaryPhaseProgressing, wantWeight: 5,
			wantDecision: "Hold podinfo.test advancement request-success-rate inconclusive after 40 canary requests, about ",
			wantWindows:  []time.Duration{10 * time.Second}, wantLooks: 1, wantSince: &now, wantVerdict: "Inconclusive",
		},
		"no values under the judge are inconclusive, not a failed check": {
			canary:      newCanary(judged(30, "promote"), atWeight(5), analysedAt(t0), judgeSince(t0, 0)),
			comparisons: errorCounts(0, 0, 0, 0),
			wantPhase:   flaggerv1.CanaryPhaseProgressing, wantWeight: 5,
			wantDecision: "Hold podinfo.test advancement request-success-rate inconclusive after 0 canary requests",
			wantWindows:  []time.Duration{10 * time.Second}, wantLooks: 1, wantSince: &now, wantVerdict: "Inconclusive",
		},
		"a conclusive failure rolls back at once, without waiting for the threshold": {
			canary:      newCanary(judged(30, "promote"), atWeight(15), analysedAt(t0), judgeSince(t0, 2)),
			comparisons: errorCounts(1000, 400, 5000, 5),
			wantPhase:   flaggerv1.CanaryPhaseFailed, wantWeight: 0,
			wantDecision: "Rolling back podinfo.test the canary is worse than the primary: request-success-rate: error rate canary 40.000% vs primary 0.100%",
			wantWindows:  []time.Duration{10 * time.Second}, wantLooks: 3, wantSince: &now, wantVerdict: "Fail",
		},
		"a conclusive pass advances": {
			canary:      newCanary(judged(30, "promote"), atWeight(5), analysedAt(t0), judgeSince(t0, 0)),
			comparisons: errorCounts(200000, 20, 200000, 20),
			wantPhase:   flaggerv1.CanaryPhaseProgressing, wantWeight: 10, wantDecision: "Advance podinfo.test canary weight 10", wantPassed: true,
			wantWindows: []time.Duration{10 * time.Second}, wantLooks: 1, wantSince: &now, wantVerdict: "Pass",
		},
		"after maxSteps inconclusive steps, then promote advances": {
			canary:      newCanary(judged(2, "promote"), atWeight(5), analysedAt(t0), judgeSince(t0, 2)),
			comparisons: errorCounts(40, 0, 800, 1),
			wantPhase:   flaggerv1.CanaryPhaseProgressing, wantWeight: 10, wantDecision: "Advance podinfo.test canary weight 10",
			wantWindows: []time.Duration{10 * time.Second}, wantLooks: 3, wantSince: &now, wantVerdict: "Inconclusive",
			wantEvent: "Judge still inconclusive for podinfo.test after 3 steps (judge.inconclusive.maxSteps is 2, then is promote): the canary advances",
		},
		"after maxSteps inconclusive steps, then fail rolls back": {
			canary:      newCanary(judged(2, "fail"), atWeight(5), analysedAt(t0), judgeSince(t0, 2)),
			comparisons: errorCounts(40, 0, 800, 1),
			wantPhase:   flaggerv1.CanaryPhaseFailed, wantDecision: "Rolling back podinfo.test still inconclusive after 3 steps (judge.inconclusive.maxSteps is 2, then is fail)",
			wantWindows: []time.Duration{10 * time.Second}, wantLooks: 3, wantSince: &now, wantVerdict: "Inconclusive",
		},
		"a comparison that could not be measured is a failed check and keeps the window": {
			canary: newCanary(judged(30, "promote"), atWeight(5), analysedAt(t0), judgeSince(t0.Add(-10*time.Second), 1)),
			comparisons: []ComparisonResult{{Name: "request-success-rate", AllowedDegradation: "+0.5pp",
				Message: "Halt podinfo.test advancement request-success-rate query failed: the server replied 503"}},
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 5, wantFailedChecks: 1,
			wantDecision: "Halt podinfo.test advancement request-success-rate query failed: the server replied 503",
			wantWindows:  []time.Duration{20 * time.Second}, wantLooks: 1, wantSince: ptrTime(t0.Add(-10 * time.Second)),
		},
		"a comparison that could not be measured at the threshold rolls back": {
			canary: newCanary(judged(30, "promote"), atWeight(5), withFailedChecks(4), analysedAt(t0), judgeSince(t0, 1)),
			comparisons: []ComparisonResult{{Name: "request-success-rate", AllowedDegradation: "+0.5pp",
				Message: "Halt podinfo.test advancement request-success-rate query failed: the server replied 503"}},
			wantPhase: flaggerv1.CanaryPhaseFailed, wantFailedChecks: 5,
			wantDecision: "Rolling back podinfo.test failed checks threshold reached 5",
			wantWindows:  []time.Duration{10 * time.Second}, wantLooks: 1, wantSince: &t0,
		},
		"a margin in the wrong unit for a template's kind is a failed check naming the metric": {
			canary:      newCanary(judged(30, "promote"), atWeight(5), analysedAt(t0), judgeSince(t0, 0)),
			comparisons: []ComparisonResult{{Name: "latency", Kind: judge.Latency, AllowedDegradation: "+1pp", Window: judge.Window{}}},
			wantPhase:   flaggerv1.CanaryPhaseProgressing, wantWeight: 5, wantFailedChecks: 1,
			wantDecision: "Halt podinfo.test advancement judge: metric latency: allowedDegradation +1pp: a latency's must be 0% to 10000%",
			wantWindows:  []time.Duration{10 * time.Second}, wantSince: &t0,
		},
		"a window shorter than the metric's interval holds without looking": {
			canary: newCanary(judged(30, "promote"), atWeight(5), analysedAt(t0), judgeSince(t0, 0),
				withAnalysis(func(a *flaggerv1.CanaryAnalysis) { a.Metrics[0].Interval = "1m" })),
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 5,
			wantDecision: "Hold podinfo.test advancement the judge looks again in 50s (metrics[].interval)",
			wantSince:    &t0,
		},
		"without the judge nothing is compared": {
			canary:    newCanary(atWeight(5), analysedAt(t0)),
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 10, wantDecision: "Advance podinfo.test canary weight 10", wantPassed: true,
		},
		"a new revision clears the evidence": {
			canary:    newCanary(judged(30, "promote"), atWeight(25), analysedAt(t0), judgeSince(t0, 7)),
			obs:       newRev,
			wantPhase: flaggerv1.CanaryPhaseProgressing,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			checks := &fakeChecks{}
			if tc.comparisons != nil {
				checks.comparisons = [][]ComparisonResult{tc.comparisons}
			}

			d := Step(tc.canary, healthyExcept(tc.obs), checks)

			s := d.Status
			if s.Phase != tc.wantPhase || s.CanaryWeight != tc.wantWeight || s.FailedChecks != tc.wantFailedChecks {
				t.Errorf("phase %s weight %d failed checks %d, want %s %d %d (events %v)", s.Phase, s.CanaryWeight, s.FailedChecks,
					tc.wantPhase, tc.wantWeight, tc.wantFailedChecks, d.Events)
			}
			if !reflect.DeepEqual(checks.windows, tc.wantWindows) {
				t.Errorf("Compare asked for windows %v, want %v", checks.windows, tc.wantWindows)
			}
			if tc.wantDecision != "" && (s.LastAnalysis == nil || !strings.HasPrefix(s.LastAnalysis.Decision, tc.wantDecision)) {
				t.Errorf("last analysis %+v, want the decision to start with %q", s.LastAnalysis, tc.wantDecision)
			}
			if tc.wantDecision != "" && s.LastAnalysis.Passed != tc.wantPassed {
				t.Errorf("last analysis passed %v, want %v", s.LastAnalysis.Passed, tc.wantPassed)
			}
			checkJudgeStatus(t, s.Judge, tc.wantLooks, tc.wantSince)
			if tc.wantVerdict != "" {
				checkVerdict(t, s.LastAnalysis, tc.wantVerdict)
			}
			if tc.wantEvent != "" && !hasEvent(d.Events, tc.wantEvent) {
				t.Errorf("events %v, want %q", d.Events, tc.wantEvent)
			}
		})
	}
}

func checkJudgeStatus(t *testing.T, js *flaggerv1.JudgeStatus, looks int, since *time.Time) {
	t.Helper()
	if since == nil {
		if js != nil {
			t.Errorf("judge status %+v, want none", js)
		}
		return
	}
	if js == nil || js.Since == nil || !js.Since.Time.Equal(*since) || js.Looks != looks {
		t.Errorf("judge status %+v, want %d looks, window since %v", js, looks, since)
	}
}

func checkVerdict(t *testing.T, r *flaggerv1.AnalysisRecord, verdict string) {
	t.Helper()
	for _, c := range r.Checks {
		if c.Kind != "comparison" {
			continue
		}
		if c.Verdict != verdict || c.Canary == "" || c.Primary == "" || c.Effect == "" || c.Lower == "" || c.Upper == "" || c.Allowed != "+0.500pp" {
			t.Errorf("comparison %+v, want verdict %s with its numbers", c, verdict)
		}
		if (verdict == "Pass") != c.Passed {
			t.Errorf("comparison passed %v with verdict %s", c.Passed, verdict)
		}
		return
	}
	t.Errorf("no comparison in %+v", r.Checks)
}

// A controller killed between two looks resumes the evidence from the
// status: a release judged in one process and one judged across a restart
// at every step end in the same state.
func TestTheJudgesEvidenceResumesFromTheStatus(t *testing.T) {
	looks := [][]ComparisonResult{errorCounts(40, 0, 800, 1), errorCounts(45, 1, 790, 0), errorCounts(38, 0, 820, 2)}
	c := newCanary(judged(30, "promote"), atWeight(5), analysedAt(t0), judgeSince(t0, 0))
	now := t0
	for i, w := range looks {
		now = now.Add(10 * time.Second)
		// Through JSON, as the API server stores and returns it.
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var stored flaggerv1.Canary
		if err := json.Unmarshal(data, &stored); err != nil {
			t.Fatal(err)
		}
		obs := healthy()
		obs.Now = now
		d := Step(&stored, obs, &fakeChecks{comparisons: [][]ComparisonResult{w}})
		c.Status = d.Status
		if d.Status.Judge.Looks != i+1 {
			t.Fatalf("look %d: status.judge.looks %d", i+1, d.Status.Judge.Looks)
		}
	}
	var want judge.State
	cfg := judge.Config{Confidence: 0.99, Comparisons: []judge.Comparison{{Name: "request-success-rate", Kind: judge.ErrorRate,
		AllowedDegradation: judge.Margin{Value: 0.5, Unit: judge.PercentagePoints}}}, Inconclusive: judge.InconclusivePolicy{MaxSteps: 30, Then: judge.ThenPromote}}
	for _, w := range looks {
		var err error
		if want, _, err = judge.Step(cfg, want, map[string]judge.Window{"request-success-rate": w[0].Window}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := judgeState(c.Status.Judge)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("evidence after a restart at every step\n%+v\nwant\n%+v (%v)", got, want, err)
	}
}

// status.judge has the JSON shape of judge.State, field for field: a field
// the API type lacked would silently drop evidence.
func TestTheJudgeStatusCarriesEveryFieldOfTheJudgesState(t *testing.T) {
	cfg := judge.Config{Confidence: 0.99, Inconclusive: judge.InconclusivePolicy{MaxSteps: 5, Then: judge.ThenFail}, Comparisons: []judge.Comparison{
		{Name: "errors", Kind: judge.ErrorRate, AllowedDegradation: judge.Margin{Value: 1, Unit: judge.PercentagePoints}},
		{Name: "latency", Kind: judge.Latency, AllowedDegradation: judge.Margin{Value: 10, Unit: judge.Percent}},
	}}
	hist := func(a, b, c float64) judge.Histogram {
		return judge.Histogram{Bounds: []float64{100, 500}, Counts: []float64{a, b, c}}
	}
	windows := map[string]judge.Window{
		"errors":  {Canary: judge.Sample{Counts: judge.Counts{Requests: 100, Errors: 2}}, Primary: judge.Sample{Counts: judge.Counts{Requests: 900, Errors: 3}}},
		"latency": {Canary: judge.Sample{Latency: hist(50, 40, 10)}, Primary: judge.Sample{Latency: hist(600, 250, 50)}},
	}
	state, _, err := judge.Step(cfg, judge.State{}, windows)
	if err != nil {
		t.Fatal(err)
	}
	js, err := judgeStatus(state)
	if err != nil {
		t.Fatal(err)
	}
	back, err := judgeState(js)
	if err != nil || !reflect.DeepEqual(back, state) {
		t.Errorf("round trip\n%+v\nwant\n%+v (%v)", back, state, err)
	}
	// Every field of the status is one of the state's (since aside).
	data, _ := json.Marshal(js)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&judge.State{}); err != nil {
		t.Errorf("status.judge has a field judge.State lacks: %v", err)
	}
}

func hasEvent(events []Event, msg string) bool {
	for _, e := range events {
		if e.Message == msg {
			return true
		}
	}
	return false
}
