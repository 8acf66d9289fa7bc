package analysis

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Step decides what a canary does next. It never mutates c.
func Step(c *flaggerv1.Canary, obs Observation, checks Checks) Decision {
	st := &stepper{c: c, obs: obs, checks: checks, s: *c.Status.DeepCopy()}
	st.run()
	return Decision{Status: st.s, Events: st.events, RequeueAfter: st.requeue}
}

// Abort ends a release in progress because something it needs is gone
// (the target, or a ConfigMap or Secret it uses): all traffic goes back to
// the primary and the release fails. why completes the message "Rolling
// back podinfo.test <why>". A canary not in a release is left as it is.
func Abort(c *flaggerv1.Canary, now time.Time, why string) Decision {
	st := &stepper{c: c, obs: Observation{Now: now}, s: *c.Status.DeepCopy()}
	if InRelease(st.s.Phase) {
		st.fail(fmt.Sprintf("Rolling back %s %s", c, why))
		st.syncReconciling()
		// The Promoted condition says why, in place of "scaled to zero".
		meta.SetStatusCondition(&st.s.Conditions, metav1.Condition{
			Type: flaggerv1.PromotedCondition, Status: metav1.ConditionFalse, Reason: string(flaggerv1.CanaryPhaseFailed),
			Message: "Canary analysis failed: " + why + ".", ObservedGeneration: c.Generation, LastTransitionTime: st.now(),
		})
	}
	return Decision{Status: st.s, Events: st.events}
}

// InRelease reports whether a phase may route traffic to the canary: the
// analysis and the promotion of a revision.
func InRelease(p flaggerv1.CanaryPhase) bool {
	switch p {
	case flaggerv1.CanaryPhaseProgressing, flaggerv1.CanaryPhaseWaitingPromotion, flaggerv1.CanaryPhasePromoting:
		return true
	}
	return false
}

// stepper holds one step's working state.
type stepper struct {
	c       *flaggerv1.Canary
	obs     Observation
	checks  Checks
	s       flaggerv1.CanaryStatus
	events  []Event
	requeue time.Duration
	// waiting says what holds the step back, for the Reconciling condition.
	waiting string
}

func (st *stepper) run() {
	if st.c.Spec.Suspend {
		return
	}
	if st.pullLevers() {
		st.syncReconciling()
		return
	}
	switch st.s.Phase {
	case flaggerv1.CanaryPhaseInitialized, flaggerv1.CanaryPhaseSucceeded, flaggerv1.CanaryPhaseFailed, flaggerv1.CanaryPhaseWaiting:
		st.idle()
	case flaggerv1.CanaryPhaseProgressing, flaggerv1.CanaryPhaseWaitingPromotion:
		st.analyse()
	case flaggerv1.CanaryPhasePromoting:
		st.promote()
	case flaggerv1.CanaryPhaseFinalising:
		st.finalise()
	default:
		return
	}
	st.syncReconciling()
}

// idle waits for a new revision, then for the confirm-rollout gates.
func (st *stepper) idle() {
	if !st.newRevision() {
		return
	}
	if msg, open := st.gate(flaggerv1.ConfirmRolloutHook, "waiting for approval"); !open {
		if st.s.Phase != flaggerv1.CanaryPhaseWaiting {
			st.info("%s", msg)
		}
		st.setPhase(flaggerv1.CanaryPhaseWaiting)
		st.hold(msg)
		st.requeue = st.c.GetInterval()
		return
	}
	st.info("New revision detected! Scaling up %s", st.c)
	st.startRevision()
}

// startRevision adopts the target's revision and starts its analysis, or
// promotes it at once when the analysis is skipped.
func (st *stepper) startRevision() {
	st.s.LastAppliedSpec = st.obs.Target.TemplateHash
	st.s.TrackedConfigs = TrackedConfigs(st.obs.Target.Configs)
	st.s.CanaryWeight, st.s.FailedChecks, st.s.Iterations = 0, 0, 0
	st.s.LastAnalysis = nil
	st.s.CanaryNotReadySince = nil
	st.s.Judge = nil // the evidence was about the previous revision
	st.requeue = st.c.GetInterval()
	if st.c.Spec.SkipAnalysis {
		st.info("Skipping analysis of %s: spec.skipAnalysis is true", st.c)
		st.startPromotion()
		return
	}
	st.setPhase(flaggerv1.CanaryPhaseProgressing)
}

// analyse runs one analysis interval of a progressing canary: the tick
// gates in order, then one step forward.
func (st *stepper) analyse() {
	if st.newRevision() {
		st.info("New revision detected! Restarting analysis for %s", st.c)
		st.startRevision()
		return
	}
	if st.obs.RoutesRestored && st.s.CanaryWeight > 0 {
		st.restartTick()
		return
	}
	if wait := st.untilTick(); wait > 0 {
		st.requeue = wait
		return
	}
	st.requeue = st.c.GetInterval()
	for _, g := range tickGates {
		switch v := g.check(st); v.verdict {
		case hold:
			st.hold(v.message)
			return
		case rollBack:
			st.rollback("%s", v.message)
			return
		}
	}
	st.advance()
}

// restartTick waits a full interval before the next run, because the
// canary's weight only now reached the routing objects: a weight is judged
// on an interval of its own traffic.
func (st *stepper) restartTick() {
	msg := fmt.Sprintf("Traffic moved to canary weight %d only now; the next analysis runs one interval later", st.s.CanaryWeight)
	// No check ran: not passed.
	st.s.LastAnalysis = &flaggerv1.AnalysisRecord{Time: st.now(), CanaryWeight: st.s.CanaryWeight, Decision: msg}
	st.requeue = st.c.GetInterval()
	st.hold(msg)
}

// hold records why the step does not move forward.
func (st *stepper) hold(message string) { st.waiting = message }

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
	if st.obs.SinceLastStep > 0 {
		return st.c.GetInterval() - st.obs.SinceLastStep
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

func (st *stepper) now() metav1.Time { return metav1.NewTime(st.obs.Now) }

// Holder returns the canary that releases a workload among all those
// whose spec.targetRef names it: the oldest by creationTimestamp, then by
// name, so the choice never changes while both exist. Nil when none.
func Holder(candidates []flaggerv1.Canary) *flaggerv1.Canary {
	var h *flaggerv1.Canary
	for i := range candidates {
		c := &candidates[i]
		if h == nil || c.CreationTimestamp.Before(&h.CreationTimestamp) ||
			(c.CreationTimestamp.Equal(&h.CreationTimestamp) && c.Name < h.Name) {
			h = c
		}
	}
	return h
}

// SameStep reports whether two analysis records were written by one step:
// the same time (the status keeps the second) and decision. A reconcile
// that took no step leaves the record as it was.
func SameStep(a, b *flaggerv1.AnalysisRecord) bool {
	return a != nil && b != nil && a.Time.Unix() == b.Time.Unix() && a.Decision == b.Decision
}
