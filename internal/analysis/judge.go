package analysis

import (
	"fmt"
	"strings"
	"time"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/judge"
)

// maxJudgeWindow bounds the range of a comparison's queries: after a long
// pause (an operator outage, a closed gate) the judge looks at the last day,
// not at everything since its previous look.
const maxJudgeWindow = 24 * time.Hour

// ComparisonResult is one compared metric over the judge's window.
type ComparisonResult struct {
	Name string
	// Kind is judge.ErrorRate or judge.Latency.
	Kind judge.Kind
	// AllowedDegradation is the metric's compare.allowedDegradation.
	AllowedDegradation string
	// Window is what the canary and the primary did in the window.
	Window judge.Window
	// Message is the "Halt …" text of a comparison that could not be
	// measured (a query failed); empty when Window holds its data.
	Message string
}

// judgeGate asks the statistical judge (spec.analysis.judge) about the
// canary's comparisons with the primary. A conclusive failure rolls back
// at once; an inconclusive step holds the weight; a pass lets the release
// advance. Each look covers the time since the previous one, so the looks
// are disjoint strata. Nothing is routed to the canary at weight 0, so
// there the judge only starts its clock. A comparison that cannot be
// measured (a query failed) is a failed check, like a metric's, and the
// window is kept, so the next look covers this one's time too.
func (st *stepper) judgeGate() gateResult {
	a := st.c.GetAnalysis()
	if a == nil || a.Judge == nil || StrategyOf(st.c) != Canary {
		return gateResult{}
	}
	js := st.s.Judge
	if js == nil {
		js = &flaggerv1.JudgeStatus{}
	}
	if st.s.CanaryWeight == 0 || js.Since == nil {
		since := st.now()
		js.Since = &since
		st.s.Judge = js
		if st.s.CanaryWeight == 0 {
			return gateResult{}
		}
		return st.judgeHold(fmt.Sprintf("Hold %s advancement the judge starts measuring now", st.c))
	}
	window := st.obs.Now.Sub(js.Since.Time)
	if least := judgeMinWindow(st.c); window < least {
		return st.judgeHold(fmt.Sprintf("Hold %s advancement the judge looks again in %s (metrics[].interval)", st.c, (least - window).Round(time.Second)))
	}
	window = min(window, maxJudgeWindow)
	comparisons := st.checks.Compare(window)
	for _, c := range comparisons {
		if c.Message != "" {
			for _, each := range comparisons {
				st.record(comparisonFailure(each))
			}
			return st.countFailedCheck(c.Message)
		}
	}
	cfg, err := judgeConfig(a.Judge, comparisons)
	if err != nil {
		return st.countFailedCheck(fmt.Sprintf("Halt %s advancement judge: %v", st.c, err))
	}
	return st.judgeLook(cfg, js, comparisons)
}

// judgeLook adds the window to the evidence and acts on the decision.
func (st *stepper) judgeLook(cfg judge.Config, js *flaggerv1.JudgeStatus, comparisons []ComparisonResult) gateResult {
	state, err := judgeState(js)
	if err == nil {
		windows := make(map[string]judge.Window, len(comparisons))
		for _, c := range comparisons {
			windows[c.Name] = c.Window
		}
		var d judge.Decision
		if state, d, err = judge.Step(cfg, state, windows); err == nil {
			var next *flaggerv1.JudgeStatus
			if next, err = judgeStatus(state); err == nil {
				now := st.now()
				next.Since = &now
				st.s.Judge = next
				return st.judgeDecision(d)
			}
		}
	}
	return st.countFailedCheck(fmt.Sprintf("Halt %s advancement judge: %v", st.c, err))
}

// judgeDecision records the verdicts and turns the decision into the
// gate's result.
func (st *stepper) judgeDecision(d judge.Decision) gateResult {
	for _, v := range d.Verdicts {
		st.record(verdictCheck(v))
	}
	// A step the policy advanced did not pass its comparisons.
	st.s.LastAnalysis.Passed = d.Outcome == judge.Pass && !d.ByPolicy
	steps, policy := st.s.Judge.InconclusiveSteps, st.c.GetAnalysis().Judge.Inconclusive
	switch {
	case d.Outcome == judge.Fail && d.ByPolicy:
		return gateResult{rollBack, fmt.Sprintf("Rolling back %s still inconclusive after %d steps (judge.inconclusive.maxSteps is %d, then is fail)", st.c, steps, policy.MaxSteps)}
	case d.Outcome == judge.Fail:
		return gateResult{rollBack, fmt.Sprintf("Rolling back %s the canary is worse than the primary: %s", st.c, verdictsText(d.Verdicts, judge.Fail))}
	case d.Outcome == judge.Inconclusive:
		return st.judgeHold(fmt.Sprintf("Hold %s advancement %s", st.c, verdictsText(d.Verdicts, judge.Inconclusive)))
	case d.ByPolicy:
		st.events = append(st.events, Event{Kind: "InconclusivePolicy", Message: fmt.Sprintf(
			"Judge still inconclusive for %s after %d steps (judge.inconclusive.maxSteps is %d, then is promote): the canary advances", st.c, steps, policy.MaxSteps)})
	}
	return gateResult{}
}

// judgeHold holds the weight: the run is not passed, and says why.
func (st *stepper) judgeHold(msg string) gateResult {
	st.info("%s", msg)
	st.s.LastAnalysis.Passed = false
	st.s.LastAnalysis.Decision = msg
	return gateResult{hold, msg}
}

// judgeMinWindow is the shortest window the judge looks at: the longest
// interval of the compared metrics, the analysis interval for those
// without one. increase() needs two samples in its range; a longer window
// asks for fewer, fuller looks.
func judgeMinWindow(c *flaggerv1.Canary) time.Duration {
	least := c.GetInterval()
	for _, m := range c.GetAnalysis().Metrics {
		if m.Compare == nil || m.Interval == "" {
			continue
		}
		if d, err := time.ParseDuration(m.Interval); err == nil && d > least {
			least = d
		}
	}
	return least
}

// judgeConfig is the judge's configuration for the measured comparisons;
// a template's kind and its allowed degradation's unit only meet here.
func judgeConfig(j *flaggerv1.CanaryJudge, comparisons []ComparisonResult) (judge.Config, error) {
	confidence := j.Confidence
	if confidence == 0 {
		confidence = flaggerv1.DefaultJudgeConfidence
	}
	cfg := judge.Config{
		Confidence:   confidence / 100,
		Inconclusive: judge.InconclusivePolicy{MaxSteps: j.Inconclusive.MaxSteps, Then: judge.Action(j.Inconclusive.Then)},
	}
	for _, c := range comparisons {
		margin, err := judge.ParseMargin(c.AllowedDegradation)
		if err != nil {
			return cfg, fmt.Errorf("metric %s: %w", c.Name, err)
		}
		cmp := judge.Comparison{Name: c.Name, Kind: c.Kind, AllowedDegradation: margin}
		one := cfg
		one.Comparisons = []judge.Comparison{cmp}
		if err := one.Validate(); err != nil {
			return cfg, fmt.Errorf("metric %s: %s", c.Name, strings.TrimPrefix(err.Error(), "comparisons[0]: "))
		}
		cfg.Comparisons = append(cfg.Comparisons, cmp)
	}
	return cfg, cfg.Validate()
}

// comparisonFailure is a comparison's status entry in a run where one of
// them could not be measured: the judge did not look.
func comparisonFailure(c ComparisonResult) flaggerv1.CheckResult {
	return flaggerv1.CheckResult{Name: c.Name, Kind: "comparison", Passed: c.Message == "", Message: c.Message}
}

// verdictsText explains the verdicts with an outcome, for a message.
func verdictsText(verdicts []judge.Verdict, outcome judge.Outcome) string {
	var parts []string
	for _, v := range verdicts {
		if v.Outcome != outcome {
			continue
		}
		switch {
		case outcome == judge.Fail:
			parts = append(parts, strings.TrimSuffix(v.String(), ": Fail"))
		case v.MoreRequests >= 0:
			parts = append(parts, fmt.Sprintf("%s inconclusive after %.0f canary requests, about %.0f more needed", v.Name, v.CanaryRequests, v.MoreRequests))
		default:
			parts = append(parts, fmt.Sprintf("%s inconclusive after %.0f canary requests", v.Name, v.CanaryRequests))
		}
	}
	return strings.Join(parts, "; ")
}

// verdictCheck writes a verdict's numbers for status.lastAnalysis.
func verdictCheck(v judge.Verdict) flaggerv1.CheckResult {
	r := flaggerv1.CheckResult{
		Name: v.Name, Kind: "comparison", Passed: v.Outcome == judge.Pass, Verdict: string(v.Outcome),
		CanaryRequests: fmt.Sprintf("%.0f", v.CanaryRequests),
	}
	if v.Kind == judge.Latency {
		r.Value = fmt.Sprintf("x%.3f", v.Effect)
		r.Canary, r.Primary = fmt.Sprintf("p99 %.4g", v.Canary), fmt.Sprintf("p99 %.4g", v.Primary)
		r.Effect, r.Lower, r.Upper, r.Allowed = fmt.Sprintf("x%.3f", v.Effect), fmt.Sprintf("x%.3f", v.Lower), fmt.Sprintf("x%.3f", v.Upper), fmt.Sprintf("x%.3f", v.Allowed)
	} else {
		r.Value = fmt.Sprintf("%+.3fpp", 100*v.Effect)
		r.Canary, r.Primary = fmt.Sprintf("%.3f%%", 100*v.Canary), fmt.Sprintf("%.3f%%", 100*v.Primary)
		r.Effect, r.Lower, r.Upper, r.Allowed = r.Value, fmt.Sprintf("%+.3fpp", 100*v.Lower), fmt.Sprintf("%+.3fpp", 100*v.Upper), fmt.Sprintf("%+.3fpp", 100*v.Allowed)
	}
	if v.Outcome == judge.Inconclusive && v.MoreRequests >= 0 {
		r.MoreRequests = fmt.Sprintf("%.0f", v.MoreRequests)
	}
	if v.Outcome != judge.Pass {
		r.Message = v.String()
	}
	return r
}
