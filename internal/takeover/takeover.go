// Package takeover decides how Serin carries on with a canary whose status
// Flagger wrote. Flagger's revision hashes (lastAppliedSpec,
// lastPromotedSpec) and config checksums cannot be recomputed: they depend
// on the Go struct layout of the k8s.io/api version Flagger was built with.
// So the decision rests on what the cluster shows — whether the primary
// already runs the target's pod template and configs — and on Flagger's
// phase and counters. Decide is pure; the reconciler observes, applies the
// decision once, and records it in a condition and an event.
package takeover

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
)

// Condition is the condition type that records a takeover. It is set once,
// when the status is migrated, and kept so users can tell adopted canaries
// from those Serin initialized.
const Condition = "AdoptedFromFlagger"

// Action is what Serin does with a canary it takes over.
type Action string

// The actions, also the reasons of the condition.
const (
	// None: the status is Serin's own (or there is nothing to adopt).
	None Action = ""
	// AdoptPromoted: the primary runs the target; nothing is new, and no
	// analysis, webhook or rollout follows.
	AdoptPromoted Action = "Promoted"
	// AdoptFailed: the target is the revision Flagger rolled back; it stays
	// failed until it changes.
	AdoptFailed Action = "Failed"
	// Continue: the release carries on from Flagger's weight, iterations and
	// failed checks.
	Continue Action = "Continued"
	// NewRevision: the target changed after Flagger's last promotion; a
	// release of it starts as for any new revision.
	NewRevision Action = "NewRevision"
)

// Observation is what the reconciler read from the cluster.
type Observation struct {
	// Now is the reconciler's clock.
	Now time.Time
	// Provider is the canary's provider, recorded in status.provider: from
	// then on the status is Serin's, so the takeover happens once.
	Provider string
	// Target is the target's revision as Serin computes it.
	Target analysis.Revision
	// PrimaryRunsTarget is true when the primary's pod template is the one
	// Serin would write from the target (Flagger's flagger-id aside) and the
	// primary copies of the tracked ConfigMaps and Secrets hold the
	// target's data.
	PrimaryRunsTarget bool
}

// Decision is a takeover's outcome.
type Decision struct {
	Action Action
	// Status is the migrated status, with the condition set.
	Status flaggerv1.CanaryStatus
	// Message tells the user what was adopted, for the condition and an
	// event.
	Message string
}

// WrittenByFlagger reports whether Flagger wrote the status: it is past
// initialization but has no status.provider, which Serin records before
// it marks a canary Initialized and Flagger's API does not have.
func WrittenByFlagger(s flaggerv1.CanaryStatus) bool {
	switch s.Phase {
	case "", flaggerv1.CanaryPhaseInitializing, flaggerv1.CanaryPhaseTerminating, flaggerv1.CanaryPhaseTerminated:
		return false
	}
	return s.Provider == ""
}

// Decide returns how to carry on with canary c; Action None when its status
// is not Flagger's. It never mutates c.
func Decide(c *flaggerv1.Canary, obs Observation) Decision {
	if !WrittenByFlagger(c.Status) {
		return Decision{Action: None, Status: c.Status}
	}
	s := *c.Status.DeepCopy()
	// Serin's own revision fields replace Flagger's hashes.
	s.LastAppliedSpec = obs.Target.TemplateHash
	s.TrackedConfigs = analysis.TrackedConfigs(obs.Target.Configs)
	s.LastPromotedSpec = ""
	s.Provider = obs.Provider
	d := Decision{}
	switch s.Phase {
	case flaggerv1.CanaryPhaseInitialized, flaggerv1.CanaryPhaseSucceeded, flaggerv1.CanaryPhaseWaiting:
		if obs.PrimaryRunsTarget {
			s.LastPromotedSpec = s.LastAppliedSpec
			d.Action, d.Message = AdoptPromoted, fmt.Sprintf(
				"Adopted from Flagger: the primary runs the target's template and configs, so %s stays %s with no new analysis", c, s.Phase)
			break
		}
		// No revision Serin computes is empty: the next step sees the
		// target as new.
		s.LastAppliedSpec, s.TrackedConfigs = "", nil
		d.Action, d.Message = NewRevision, fmt.Sprintf(
			"Adopted from Flagger: the primary does not run the target's template or configs, so a release of %s starts", c)
	case flaggerv1.CanaryPhaseFailed:
		if obs.PrimaryRunsTarget {
			s.LastPromotedSpec = s.LastAppliedSpec
		}
		s.CanaryWeight, s.Iterations = 0, 0
		d.Action, d.Message = AdoptFailed, fmt.Sprintf(
			"Adopted from Flagger: %s stays Failed with the target's current template as the failed revision; a change to the target starts a new analysis", c)
	case flaggerv1.CanaryPhaseProgressing, flaggerv1.CanaryPhaseWaitingPromotion, flaggerv1.CanaryPhasePromoting, flaggerv1.CanaryPhaseFinalising:
		s.LastAnalysis = resumedAnalysis(s, obs.Now)
		d.Action, d.Message = Continue, fmt.Sprintf(
			"Adopted from Flagger: %s continues its release in phase %s from canary weight %d, iteration %d, %d failed checks",
			c, s.Phase, s.CanaryWeight, s.Iterations, s.FailedChecks)
	default:
		return Decision{Action: None, Status: c.Status}
	}
	meta.SetStatusCondition(&s.Conditions, metav1.Condition{
		Type: Condition, Status: metav1.ConditionTrue, Reason: string(d.Action), Message: d.Message,
		ObservedGeneration: c.Generation, LastTransitionTime: metav1.NewTime(obs.Now),
	})
	d.Status = s
	return d
}

// resumedAnalysis stands for the analysis runs Flagger made, so the next
// run is due one interval after Flagger's last step and the pre-rollout
// hooks, which Flagger ran before its first step, are not called again. A
// release still at weight 0 and iteration 0 has made no step: Flagger
// would call the pre-rollout hooks at its next run, and so does Serin.
func resumedAnalysis(s flaggerv1.CanaryStatus, now time.Time) *flaggerv1.AnalysisRecord {
	if s.CanaryWeight == 0 && s.Iterations == 0 && s.Phase == flaggerv1.CanaryPhaseProgressing {
		return nil
	}
	at := s.LastTransitionTime
	if at.IsZero() || at.After(now) {
		at = metav1.NewTime(now)
	}
	return &flaggerv1.AnalysisRecord{Time: at, CanaryWeight: s.CanaryWeight,
		Decision: fmt.Sprintf("Adopted from Flagger at canary weight %d, iteration %d", s.CanaryWeight, s.Iterations)}
}
