package judge

import (
	"fmt"
	"math"
)

// Outcome is what a comparison or a step concludes.
type Outcome string

const (
	// Pass: the canary is within the allowed degradation.
	Pass Outcome = "Pass"
	// Fail: the canary is worse than allowed.
	Fail Outcome = "Fail"
	// Inconclusive: the data does not decide yet.
	Inconclusive Outcome = "Inconclusive"
)

// Verdict explains one comparison in numbers a status can carry.
type Verdict struct {
	// Name is the comparison's name.
	Name string `json:"name"`
	// Kind is ErrorRate or Latency.
	Kind Kind `json:"kind"`
	// Outcome is Pass, Fail or Inconclusive.
	Outcome Outcome `json:"outcome"`
	// Canary and Primary are each version's value over all looks: the
	// error rate (a fraction) or the 99th percentile latency (in the
	// histogram's unit), for people to read; the test uses Effect.
	Canary  float64 `json:"canary"`
	Primary float64 `json:"primary"`
	// Effect is the estimated degradation: for ErrorRate the difference of
	// error rates over the same intervals (a fraction), for Latency the
	// ratio by which the canary's latencies are scaled against the
	// primary's (1.2 is 20% slower).
	Effect float64 `json:"effect"`
	// Lower and Upper bound Effect at Confidence over all looks (each side
	// at that level), within the range the comparison can measure.
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	// Allowed is the allowed degradation on Effect's scale.
	Allowed float64 `json:"allowed"`
	// Confidence is this comparison's share of the configured confidence.
	Confidence float64 `json:"confidence"`
	// CanaryRequests and PrimaryRequests are the requests seen so far.
	CanaryRequests  float64 `json:"canaryRequests"`
	PrimaryRequests float64 `json:"primaryRequests"`
	// MoreRequests is, when Inconclusive, about how many more canary
	// requests would decide if the estimate stayed where it is; -1 when
	// no amount would (the estimate equals the allowed degradation, or
	// there is no data yet). It is 0 once decided.
	MoreRequests float64 `json:"moreRequests"`
}

// decide sets the outcome from the evidence at the allowed degradation.
func (v *Verdict) decide(e evidence, alpha float64) {
	switch {
	case e.worse(alpha):
		v.Outcome = Fail
	case e.better(alpha):
		v.Outcome = Pass
	default:
		v.Outcome = Inconclusive
		v.MoreRequests = -1
		if g := e.growthToDecide(alpha); !math.IsInf(g, 1) && v.CanaryRequests > 0 {
			v.MoreRequests = math.Ceil((g - 1) * v.CanaryRequests)
		}
	}
}

// String explains the verdict to people.
func (v Verdict) String() string {
	var what string
	if v.Kind == Latency {
		what = fmt.Sprintf("%s: p99 canary %.4g vs primary %.4g, latency ratio ×%.3f (%.4g%% confidence ×%.3f to ×%.3f), allowed ×%.3f",
			v.Name, v.Canary, v.Primary, v.Effect, 100*v.Confidence, v.Lower, v.Upper, v.Allowed)
	} else {
		what = fmt.Sprintf("%s: error rate canary %.3f%% vs primary %.3f%%, difference %+.3f pp (%.4g%% confidence %+.3f to %+.3f pp), allowed %+.3f pp",
			v.Name, 100*v.Canary, 100*v.Primary, 100*v.Effect, 100*v.Confidence, 100*v.Lower, 100*v.Upper, 100*v.Allowed)
	}
	switch {
	case v.Outcome != Inconclusive:
		return fmt.Sprintf("%s: %s", what, v.Outcome)
	case v.MoreRequests < 0:
		return fmt.Sprintf("%s: Inconclusive after %.0f canary requests", what, v.CanaryRequests)
	default:
		return fmt.Sprintf("%s: Inconclusive after %.0f canary requests, about %.0f more needed", what, v.CanaryRequests, v.MoreRequests)
	}
}
