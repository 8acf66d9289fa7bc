package analysis

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// advance moves a healthy canary one step: more weight, one more
// iteration, or, at the end, promotion once the gates allow it.
func (st *stepper) advance() {
	a := st.c.GetAnalysis()
	if StrategyOf(st.c) != Canary {
		if st.s.Iterations < a.Iterations {
			st.s.Iterations++
			st.decide("Advance %s canary iteration %d/%d", st.c, st.s.Iterations, a.Iterations)
			return
		}
		st.promoteWhenApproved()
		return
	}
	if st.s.Phase == flaggerv1.CanaryPhaseWaitingPromotion || st.s.CanaryWeight >= st.c.GetMaxWeight() {
		st.promoteWhenApproved()
		return
	}
	if msg, open := st.gate(flaggerv1.ConfirmTrafficIncreaseHook, "waiting for traffic increase approval"); !open {
		st.info("%s", msg)
		st.s.LastAnalysis.Decision = msg
		st.hold(msg)
		return
	}
	st.s.CanaryWeight = NextWeight(st.c, st.s.CanaryWeight)
	st.s.LastTransitionTime = st.now()
	st.decide("Advance %s canary weight %d", st.c, st.s.CanaryWeight)
}

// promoteWhenApproved starts the promotion unless a confirm-promotion gate
// is closed.
func (st *stepper) promoteWhenApproved() {
	if msg, open := st.gate(flaggerv1.ConfirmPromotionHook, "waiting for promotion approval"); !open {
		if st.s.Phase != flaggerv1.CanaryPhaseWaitingPromotion {
			st.info("%s", msg)
		}
		st.s.LastAnalysis.Decision = msg
		st.setPhase(flaggerv1.CanaryPhaseWaitingPromotion)
		st.hold(msg)
		return
	}
	st.startPromotion()
	if st.s.LastAnalysis != nil {
		st.s.LastAnalysis.Decision = "Promoting"
	}
}

func (st *stepper) startPromotion() {
	st.info("Copying %s template spec to %s-primary.%s", st.c, st.c.Spec.TargetRef.Name, st.c.Namespace)
	st.setPhase(flaggerv1.CanaryPhasePromoting)
}

// promote waits for the primary to run the promoted template, optionally
// moves traffic back in steps, then routes all traffic to the primary.
func (st *stepper) promote() {
	if st.newRevision() {
		st.info("New revision detected! Restarting analysis for %s", st.c)
		st.startRevision()
		return
	}
	st.requeue = st.c.GetInterval()
	if !st.obs.PrimaryPromoted {
		st.hold(fmt.Sprintf("waiting for %s-primary to run the promoted template", st.c.Spec.TargetRef.Name))
		return
	}
	if rd := st.obs.PrimaryReady; !rd.Ready {
		st.hold(rd.Message)
		return
	}
	a := st.c.GetAnalysis()
	if a != nil && a.StepWeightPromotion > 0 && StrategyOf(st.c) == Canary && st.s.CanaryWeight > 0 {
		if wait := st.untilTick(); wait > 0 {
			st.requeue = wait
			return
		}
		st.s.CanaryWeight = max(0, st.s.CanaryWeight-a.StepWeightPromotion)
		st.s.LastAnalysis = &flaggerv1.AnalysisRecord{Time: metav1.NewTime(st.obs.Now), CanaryWeight: st.s.CanaryWeight, Passed: true}
		if st.s.CanaryWeight > 0 {
			st.decide("Advance %s primary weight %d", st.c, 100-st.s.CanaryWeight)
			return
		}
	}
	st.info("Routing all traffic to primary")
	st.s.CanaryWeight = 0
	st.setPhase(flaggerv1.CanaryPhaseFinalising)
}

// finalise waits for the canary to scale down and completes the release.
func (st *stepper) finalise() {
	if !st.obs.CanaryScaledDown {
		st.requeue = st.c.GetInterval()
		st.hold(fmt.Sprintf("waiting for %s to scale down", st.c.Spec.TargetRef.Name))
		return
	}
	st.s.LastPromotedSpec = st.s.LastAppliedSpec
	st.s.Iterations = 0
	st.setPhase(flaggerv1.CanaryPhaseSucceeded)
	st.info("Promotion completed! Scaling down %s", st.c)
	st.endRelease()
}

// rollback routes all traffic to the primary and fails the release.
func (st *stepper) rollback(format string, args ...any) {
	st.fail(fmt.Sprintf(format, args...))
	st.warn("Canary failed! Scaling down %s", st.c)
}

// fail ends the release as Failed with all traffic on the primary.
func (st *stepper) fail(msg string) {
	st.warn("%s", msg)
	if st.s.LastAnalysis != nil {
		st.s.LastAnalysis.Decision = msg
	}
	st.s.CanaryWeight, st.s.Iterations = 0, 0
	st.setPhase(flaggerv1.CanaryPhaseFailed)
	st.endRelease()
}

// endRelease leaves the post-rollout webhooks owed: the reconciler calls
// them once the routes and the scaling match the final status, never
// before, and clears the record when they have been called.
func (st *stepper) endRelease() {
	st.s.CanaryNotReadySince = nil
	if HasHooks(st.c, flaggerv1.PostRolloutHook) {
		st.s.PendingPostRollout = Checksum(st.s)
	}
	st.requeue = 0
}

// HasHooks reports whether the canary has webhooks of type t.
func HasHooks(c *flaggerv1.Canary, t flaggerv1.HookType) bool {
	a := c.GetAnalysis()
	if a == nil {
		return false
	}
	for _, w := range a.Webhooks {
		if w.Type == t || (w.Type == "" && t == flaggerv1.RolloutHook) {
			return true
		}
	}
	return false
}

// Checksum identifies the revision of a status in webhook payloads: its
// template hash and tracked config checksums.
func Checksum(s flaggerv1.CanaryStatus) string {
	h := sha256.New()
	h.Write([]byte(s.LastAppliedSpec))
	if s.TrackedConfigs != nil {
		keys := make([]string, 0, len(*s.TrackedConfigs))
		for k := range *s.TrackedConfigs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(h, "|%s=%s", k, (*s.TrackedConfigs)[k])
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
