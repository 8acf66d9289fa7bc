package judge

import (
	"errors"
	"fmt"
	"math"
)

// Kind is what a comparison measures.
type Kind string

const (
	// ErrorRate compares the share of failed requests, from the request and
	// error counts of both versions. Its allowed degradation is in
	// percentage points.
	ErrorRate Kind = "errorRate"
	// Latency compares the two versions' latency histograms. Its allowed
	// degradation is a slowdown in percent.
	Latency Kind = "latency"
)

// Action is what a release does once it has been inconclusive too long.
type Action string

const (
	// ThenPromote lets inconclusive steps advance like passed ones; a Fail
	// still rolls the canary back.
	ThenPromote Action = "promote"
	// ThenFail rolls the canary back.
	ThenFail Action = "fail"
)

// Limits on what a tenant can configure.
const (
	minConfidence  = 0.5
	maxConfidence  = 0.9999
	maxComparisons = 16
	maxNameLength  = 63
	maxHoldSteps   = 10000
	// maxErrorMargin and maxLatencyMargin keep margins meaningful: an error
	// rate cannot rise by 100 points, and a 100-fold slowdown is no gate.
	maxErrorMargin   = 50
	maxLatencyMargin = 10000
)

// Config is how a release is judged.
type Config struct {
	// Confidence is the probability that the judge does not fail a canary
	// that is within every allowed degradation, over all looks of the
	// release (e.g. 0.99). It is shared equally by the comparisons; the same
	// level bounds the chance of passing a comparison that is worse than
	// allowed.
	Confidence float64 `json:"confidence"`
	// Comparisons are the checks of the canary against the primary.
	Comparisons []Comparison `json:"comparisons"`
	// Inconclusive is what happens when the data does not decide.
	Inconclusive InconclusivePolicy `json:"inconclusive"`
}

// Comparison is one check of the canary against the primary.
type Comparison struct {
	// Name identifies the comparison (the metric's name).
	Name string `json:"name"`
	// Kind is ErrorRate or Latency.
	Kind Kind `json:"kind"`
	// AllowedDegradation is how much worse than the primary the canary may
	// be: percentage points for ErrorRate, percent for Latency.
	AllowedDegradation Margin `json:"allowedDegradation"`
}

// InconclusivePolicy bounds how long a release waits for enough data.
type InconclusivePolicy struct {
	// MaxSteps is how many inconclusive steps hold the canary's weight;
	// the next inconclusive step applies Then.
	MaxSteps int `json:"maxSteps"`
	// Then is ThenPromote or ThenFail.
	Then Action `json:"then"`
}

// alpha is each comparison's share of the error probability.
func (c Config) alpha() float64 {
	return (1 - c.Confidence) / float64(len(c.Comparisons))
}

// Validate reports every invalid field with what is allowed.
func (c Config) Validate() error {
	var errs []error
	if math.IsNaN(c.Confidence) || c.Confidence < minConfidence || c.Confidence > maxConfidence {
		errs = append(errs, fmt.Errorf("confidence %v: must be between %v and %v", c.Confidence, minConfidence, maxConfidence))
	}
	if n := len(c.Comparisons); n == 0 || n > maxComparisons {
		errs = append(errs, fmt.Errorf("comparisons: %d given, must be 1 to %d", n, maxComparisons))
	}
	seen := map[string]bool{}
	for i, cmp := range c.Comparisons {
		if seen[cmp.Name] {
			errs = append(errs, fmt.Errorf("comparisons[%d].name %q: used twice", i, cmp.Name))
		}
		seen[cmp.Name] = true
		if err := cmp.validate(); err != nil {
			errs = append(errs, fmt.Errorf("comparisons[%d]: %w", i, err))
		}
	}
	if p := c.Inconclusive; p.MaxSteps < 1 || p.MaxSteps > maxHoldSteps {
		errs = append(errs, fmt.Errorf("inconclusive.maxSteps %d: must be 1 to %d", p.MaxSteps, maxHoldSteps))
	}
	if t := c.Inconclusive.Then; t != ThenPromote && t != ThenFail {
		errs = append(errs, fmt.Errorf("inconclusive.then %q: must be %q or %q", t, ThenPromote, ThenFail))
	}
	return errors.Join(errs...)
}

func (c Comparison) validate() error {
	if c.Name == "" || len(c.Name) > maxNameLength {
		return fmt.Errorf("name %q: must be 1 to %d characters", c.Name, maxNameLength)
	}
	m := c.AllowedDegradation
	switch c.Kind {
	case ErrorRate:
		if m.Unit != PercentagePoints || !(m.Value >= 0 && m.Value <= maxErrorMargin) {
			return fmt.Errorf("allowedDegradation %s: an error rate's must be 0pp to %dpp (percentage points)", m, maxErrorMargin)
		}
	case Latency:
		if m.Unit != Percent || !(m.Value >= 0 && m.Value <= maxLatencyMargin) {
			return fmt.Errorf("allowedDegradation %s: a latency's must be 0%% to %d%%", m, maxLatencyMargin)
		}
	default:
		return fmt.Errorf("kind %q: must be %q or %q", c.Kind, ErrorRate, Latency)
	}
	return nil
}

// effectMargin is the allowed degradation on the scale of the comparison's
// effect: a difference of error rates (a fraction) or a latency ratio.
func (c Comparison) effectMargin() float64 {
	if c.Kind == Latency {
		return 1 + c.AllowedDegradation.Value/100
	}
	return c.AllowedDegradation.Value / 100
}
