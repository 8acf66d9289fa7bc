package analysis

import (
	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Weights are the routes a status asks for, in percent.
type Weights struct {
	Primary, Canary int
	// Mirrored copies the primary's requests to the canary as well
	// (analysis.mirror), for providers that can.
	Mirrored bool
}

// DesiredWeights returns where traffic goes in a status: on the primary
// unless an analysis or promotion is under way. A failed canary never
// keeps traffic.
func DesiredWeights(c *flaggerv1.Canary, s flaggerv1.CanaryStatus) Weights {
	switch s.Phase {
	case flaggerv1.CanaryPhaseProgressing, flaggerv1.CanaryPhaseWaitingPromotion, flaggerv1.CanaryPhasePromoting:
	default:
		return Weights{Primary: 100}
	}
	mirror := s.Phase == flaggerv1.CanaryPhaseProgressing && c.GetAnalysis() != nil && c.GetAnalysis().Mirror
	switch StrategyOf(c) {
	case ABTesting:
		// The matched requests go to the canary; routers keep the rest on
		// the primary.
		return Weights{Canary: 100}
	case BlueGreen:
		// As in Flagger, a mirrored blue/green release copies requests to
		// the canary for its whole analysis.
		return Weights{Primary: 100, Mirrored: mirror}
	}
	// A mirrored canary release gets copies of the requests before the
	// first step shifts any to it.
	return Weights{Primary: 100 - s.CanaryWeight, Canary: s.CanaryWeight, Mirrored: mirror && s.CanaryWeight == 0}
}

// Scale is what the target workload should run.
type Scale int

// The target's scale per phase.
const (
	// KeepScale leaves the target as it is.
	KeepScale Scale = iota
	// ScaleUp runs the target (the canary) for analysis.
	ScaleUp
	// ScaleToZero stops the target once traffic has left it.
	ScaleToZero
)

// DesiredScale returns what the target should run in a phase.
func DesiredScale(s flaggerv1.CanaryStatus) Scale {
	switch s.Phase {
	case flaggerv1.CanaryPhaseProgressing, flaggerv1.CanaryPhaseWaitingPromotion, flaggerv1.CanaryPhasePromoting:
		return ScaleUp
	case flaggerv1.CanaryPhaseInitialized, flaggerv1.CanaryPhaseFinalising, flaggerv1.CanaryPhaseSucceeded, flaggerv1.CanaryPhaseFailed:
		return ScaleToZero
	}
	return KeepScale
}

// NextWeight returns the weight after current: the next stepWeights entry
// above current, or current+stepWeight, never above maxWeight.
func NextWeight(c *flaggerv1.Canary, current int) int {
	a := c.GetAnalysis()
	max := c.GetMaxWeight()
	next := max
	if a != nil && len(a.StepWeights) > 0 {
		for _, w := range a.StepWeights {
			if w > current {
				next = w
				break
			}
		}
	} else if a != nil && a.StepWeight > 0 {
		next = current + a.StepWeight
	}
	if next > max {
		next = max
	}
	return next
}
