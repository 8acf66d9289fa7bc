package analysis

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
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
		return
	}
	st.s.CanaryWeight = NextWeight(st.c, st.s.CanaryWeight)
	st.s.LastTransitionTime = metav1.NewTime(st.obs.Now)
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
	if !st.obs.PrimaryPromoted || !st.obs.PrimaryReady.Ready {
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
		return
	}
	st.s.LastPromotedSpec = st.s.LastAppliedSpec
	st.s.Iterations = 0
	st.setPhase(flaggerv1.CanaryPhaseSucceeded)
	st.info("Promotion completed! Scaling down %s", st.c)
	st.postRollout()
}

// rollback routes all traffic to the primary and fails the release.
func (st *stepper) rollback(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	st.warn("%s", msg)
	if st.s.LastAnalysis != nil {
		st.s.LastAnalysis.Decision = msg
	}
	st.s.CanaryWeight, st.s.Iterations = 0, 0
	st.setPhase(flaggerv1.CanaryPhaseFailed)
	st.warn("Canary failed! Scaling down %s", st.c)
	st.postRollout()
}

func (st *stepper) postRollout() {
	for _, r := range st.checks.Hooks(flaggerv1.PostRolloutHook) {
		if r.Err != nil {
			st.warn("Post-rollout hook %s failed %v", r.Name, r.Err)
		}
	}
	st.requeue = 0
}

// gate calls the hooks of a gate type; it is open when all of them answer
// with success. The message names the first closed gate.
func (st *stepper) gate(t flaggerv1.HookType, waiting string) (string, bool) {
	for _, r := range st.checks.Hooks(t) {
		if r.Err != nil {
			return fmt.Sprintf("Halt %s advancement %s %s", st.c, waiting, r.Name), false
		}
	}
	return "", true
}

// newRevision reports whether the target changed since it was last applied.
func (st *stepper) newRevision() bool {
	if st.obs.Target.TemplateHash != st.s.LastAppliedSpec {
		return true
	}
	var tracked map[string]string
	if st.s.TrackedConfigs != nil {
		tracked = *st.s.TrackedConfigs
	}
	if len(tracked) != len(st.obs.Target.Configs) {
		return true
	}
	for k, v := range st.obs.Target.Configs {
		if tracked[k] != v {
			return true
		}
	}
	return false
}

// untilTick returns how long until the next analysis run is due.
func (st *stepper) untilTick() time.Duration {
	if st.s.LastAnalysis == nil {
		return 0
	}
	return st.s.LastAnalysis.Time.Add(st.c.GetInterval()).Sub(st.obs.Now)
}

// TrackedConfigs is the status.trackedConfigs value for config checksums:
// a copy, or nil when there are none.
func TrackedConfigs(m map[string]string) *map[string]string {
	if len(m) == 0 {
		return nil
	}
	cp := make(map[string]string, len(m))
	for k, v := range m {
		cp[k] = v
	}
	return &cp
}

// conditionMessages are the Promoted condition's messages per phase.
var conditionMessages = map[flaggerv1.CanaryPhase]struct {
	status  metav1.ConditionStatus
	message string
}{
	flaggerv1.CanaryPhaseWaiting:          {metav1.ConditionUnknown, "Waiting for approval."},
	flaggerv1.CanaryPhaseProgressing:      {metav1.ConditionUnknown, "New revision detected, progressing canary analysis."},
	flaggerv1.CanaryPhaseWaitingPromotion: {metav1.ConditionUnknown, "Waiting for approval."},
	flaggerv1.CanaryPhasePromoting:        {metav1.ConditionUnknown, "Canary analysis completed, starting primary rolling update."},
	flaggerv1.CanaryPhaseFinalising:       {metav1.ConditionUnknown, "Canary analysis completed, routing all traffic to primary."},
	flaggerv1.CanaryPhaseSucceeded:        {metav1.ConditionTrue, "Canary analysis completed successfully, promotion finished."},
	flaggerv1.CanaryPhaseFailed:           {metav1.ConditionFalse, "Canary analysis failed, Deployment scaled to zero."},
}

// setPhase changes the phase and the Promoted condition (reason = phase).
func (st *stepper) setPhase(p flaggerv1.CanaryPhase) {
	if st.s.Phase == p {
		return
	}
	st.s.Phase = p
	st.s.LastTransitionTime = metav1.NewTime(st.obs.Now)
	cm := conditionMessages[p]
	meta.SetStatusCondition(&st.s.Conditions, metav1.Condition{
		Type: flaggerv1.PromotedCondition, Status: cm.status, Reason: string(p), Message: cm.message,
		ObservedGeneration: st.c.Generation, LastTransitionTime: metav1.NewTime(st.obs.Now),
	})
}

// decide records a step's decision as an event and in lastAnalysis.
func (st *stepper) decide(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	st.events = append(st.events, Event{Message: msg})
	if st.s.LastAnalysis != nil {
		st.s.LastAnalysis.Decision = msg
	}
}

func (st *stepper) info(format string, args ...any) {
	st.events = append(st.events, Event{Message: fmt.Sprintf(format, args...)})
}

func (st *stepper) warn(format string, args ...any) {
	st.events = append(st.events, Event{Warning: true, Message: fmt.Sprintf(format, args...)})
}
