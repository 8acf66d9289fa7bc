package judge

import (
	"errors"
	"fmt"
	"strings"
)

// Window is what both versions did over the same interval: the requests,
// errors and latencies since the previous look. ErrorRate comparisons read
// the counts, Latency comparisons the histograms.
type Window struct {
	Canary  Sample `json:"canary"`
	Primary Sample `json:"primary"`
}

// Sample is one version's traffic over a window.
type Sample struct {
	Counts  Counts    `json:"counts"`
	Latency Histogram `json:"latency"`
}

// State is the evidence of one release; a new release starts from the
// zero State.
type State struct {
	// Looks is the number of windows observed.
	Looks int `json:"looks"`
	// InconclusiveSteps counts the steps that were inconclusive.
	InconclusiveSteps int `json:"inconclusiveSteps"`
	// Comparisons hold each comparison's evidence, in the configuration's
	// order.
	Comparisons []ComparisonState `json:"comparisons"`
}

// ComparisonState is one comparison's evidence, with the configuration it
// was gathered for.
type ComparisonState struct {
	Comparison `json:",inline"`
	ErrorRate  *ErrorRateState `json:"errorRate,omitempty"`
	Latency    *LatencyState   `json:"latency,omitempty"`
}

// Decision is the outcome of one step.
type Decision struct {
	// Outcome is Fail when any comparison fails, Pass when all pass, and
	// otherwise Inconclusive, or the policy's outcome once the release has
	// been inconclusive for more than the policy's steps.
	Outcome Outcome `json:"outcome"`
	// ByPolicy is set when the inconclusive policy chose the outcome.
	ByPolicy bool `json:"byPolicy,omitempty"`
	// Verdicts explain each comparison, in the configuration's order.
	Verdicts []Verdict `json:"verdicts"`
}

// Step adds one look to the evidence and judges the canary. windows holds
// one Window per comparison name. A configuration that differs from the
// one the evidence was gathered for restarts that comparison's evidence.
// The state passed in is not modified.
func Step(cfg Config, st State, windows map[string]Window) (State, Decision, error) {
	if err := cfg.Validate(); err != nil {
		return st, Decision{}, fmt.Errorf("judge configuration: %w", err)
	}
	if err := checkWindows(cfg, windows); err != nil {
		return st, Decision{}, err
	}
	next := State{Looks: st.Looks + 1, InconclusiveSteps: st.InconclusiveSteps}
	alpha := cfg.alpha()
	d := Decision{Outcome: Pass}
	for i, cmp := range cfg.Comparisons {
		cs := evidenceFor(cmp, st, i)
		v, err := cs.step(windows[cmp.Name], alpha)
		if err != nil {
			return st, Decision{}, fmt.Errorf("comparison %s: %w", cmp.Name, err)
		}
		next.Comparisons = append(next.Comparisons, cs)
		d.Verdicts = append(d.Verdicts, v)
		switch {
		case v.Outcome == Fail:
			d.Outcome = Fail
		case v.Outcome == Inconclusive && d.Outcome == Pass:
			d.Outcome = Inconclusive
		}
	}
	if d.Outcome == Inconclusive {
		next.InconclusiveSteps++
		if next.InconclusiveSteps > cfg.Inconclusive.MaxSteps {
			d.ByPolicy = true
			d.Outcome = Pass
			if cfg.Inconclusive.Then == ThenFail {
				d.Outcome = Fail
			}
		}
	}
	return next, d, nil
}

// checkWindows requires exactly one window per comparison.
func checkWindows(cfg Config, windows map[string]Window) error {
	var errs []error
	names := map[string]bool{}
	for _, cmp := range cfg.Comparisons {
		names[cmp.Name] = true
		if _, ok := windows[cmp.Name]; !ok {
			errs = append(errs, fmt.Errorf("no window for comparison %s", cmp.Name))
		}
	}
	for name := range windows {
		if !names[name] {
			errs = append(errs, fmt.Errorf("window %q: no comparison has that name", name))
		}
	}
	return errors.Join(errs...)
}

// evidenceFor returns a copy of the i-th comparison's evidence, or fresh
// evidence when it was gathered for another configuration.
func evidenceFor(cmp Comparison, st State, i int) ComparisonState {
	if i < len(st.Comparisons) && st.Comparisons[i].Comparison == cmp {
		return st.Comparisons[i].clone()
	}
	cs := ComparisonState{Comparison: cmp}
	if cmp.Kind == Latency {
		cs.Latency = &LatencyState{}
	} else {
		cs.ErrorRate = &ErrorRateState{}
	}
	return cs
}

func (cs ComparisonState) clone() ComparisonState {
	if cs.ErrorRate != nil {
		e := *cs.ErrorRate
		cs.ErrorRate = &e
	}
	if cs.Latency != nil {
		l := *cs.Latency
		l.Bounds = append([]float64(nil), l.Bounds...)
		l.Canary = append([]float64(nil), l.Canary...)
		l.Primary = append([]float64(nil), l.Primary...)
		l.RankSums = append([]float64(nil), l.RankSums...)
		cs.Latency = &l
	}
	return cs
}

// step adds the window to the evidence (cs holds its own copy) and judges.
func (cs *ComparisonState) step(w Window, alpha float64) (Verdict, error) {
	margin := cs.effectMargin()
	var v Verdict
	switch {
	case cs.Latency != nil:
		if err := cs.Latency.observe(w.Canary.Latency, w.Primary.Latency, margin); err != nil {
			return v, err
		}
		v = cs.Latency.verdict(margin, alpha)
	case cs.ErrorRate != nil:
		if err := cs.ErrorRate.observe(w.Canary.Counts, w.Primary.Counts); err != nil {
			return v, err
		}
		v = cs.ErrorRate.verdict(margin, alpha)
	default:
		return v, fmt.Errorf("evidence for kind %q is missing", cs.Kind)
	}
	v.Name = cs.Name
	return v, nil
}

// Summary explains a decision in one line for people.
func (d Decision) Summary() string {
	parts := make([]string, 0, len(d.Verdicts))
	for _, v := range d.Verdicts {
		parts = append(parts, v.String())
	}
	summary := strings.Join(parts, "; ")
	if d.ByPolicy {
		return fmt.Sprintf("%s by the inconclusive policy: %s", d.Outcome, summary)
	}
	return fmt.Sprintf("%s: %s", d.Outcome, summary)
}
