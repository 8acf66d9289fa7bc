package analysis

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Step decides what a canary does next. It never mutates c.
func Step(c *flaggerv1.Canary, obs Observation, checks Checks) Decision {
	st := &stepper{c: c, obs: obs, checks: checks, s: *c.Status.DeepCopy()}
	st.run()
	return Decision{Status: st.s, Events: st.events, RequeueAfter: st.requeue}
}

// stepper holds one step's working state.
type stepper struct {
	c       *flaggerv1.Canary
	obs     Observation
	checks  Checks
	s       flaggerv1.CanaryStatus
	events  []Event
	requeue time.Duration
}

func (st *stepper) run() {
	if st.c.Spec.Suspend {
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
	}
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
	st.requeue = st.c.GetInterval()
	if st.c.Spec.SkipAnalysis {
		st.info("Skipping analysis of %s: spec.skipAnalysis is true", st.c)
		st.startPromotion()
		return
	}
	st.setPhase(flaggerv1.CanaryPhaseProgressing)
}

// analyse runs one analysis interval of a progressing canary.
func (st *stepper) analyse() {
	if st.newRevision() {
		st.info("New revision detected! Restarting analysis for %s", st.c)
		st.startRevision()
		return
	}
	if wait := st.untilTick(); wait > 0 {
		st.requeue = wait
		return
	}
	st.requeue = st.c.GetInterval()
	if !st.workloadsReady() {
		return
	}
	for _, r := range st.checks.Hooks(flaggerv1.RollbackHook) {
		if r.Err == nil {
			st.rollback("Rolling back %s manual webhook invoked", st.c)
			return
		}
	}
	if st.s.FailedChecks >= st.c.GetThreshold() {
		st.rollback("Rolling back %s failed checks threshold reached %d", st.c, st.s.FailedChecks)
		return
	}
	st.s.LastAnalysis = &flaggerv1.AnalysisRecord{Time: metav1.NewTime(st.obs.Now), CanaryWeight: st.s.CanaryWeight}
	if !st.runChecks() {
		return
	}
	st.s.LastAnalysis.Passed = true
	st.advance()
}

// workloadsReady checks the canary and the primary, rolling back a canary
// that missed its progress deadline.
func (st *stepper) workloadsReady() bool {
	if rd := st.obs.CanaryReady; !rd.Ready {
		if rd.DeadlineExceeded || st.obs.Now.Sub(st.s.LastTransitionTime.Time) > st.c.GetProgressDeadline() {
			st.rollback("Rolling back %s progress deadline exceeded %s", st.c, rd.Message)
		}
		return false
	}
	return st.obs.PrimaryReady.Ready
}

// runChecks runs the pre-rollout hooks (until they pass once), the rollout
// hooks and the metrics; the first failure halts the run as a failed check.
func (st *stepper) runChecks() bool {
	prev := st.c.Status.LastAnalysis
	if prev == nil {
		st.info("Starting canary analysis for %s", st.c)
	}
	if prev == nil || failedHook(prev, flaggerv1.PreRolloutHook) {
		if !st.hooksPass(flaggerv1.PreRolloutHook, "pre-rollout check") {
			return false
		}
	}
	if !st.hooksPass(flaggerv1.RolloutHook, "external check") {
		return false
	}
	// Before the first step nothing is routed to the canary: a metric
	// without values has nothing to judge (Flagger skips the metrics
	// altogether), while one with values (a load test on the canary
	// service) is judged before any user is sent there.
	unrouted := StrategyOf(st.c) == Canary && st.s.CanaryWeight == 0 && st.s.Iterations == 0
	var failed *MetricResult
	for _, m := range st.checks.Metrics() {
		if unrouted && m.NoValues {
			m.Passed, m.Message = true, "no values: no traffic is routed to the canary yet"
		}
		st.record(flaggerv1.CheckResult{Name: m.Name, Kind: "metric", Value: m.Value, Threshold: m.Threshold, Passed: m.Passed, Message: m.Message})
		if !m.Passed && failed == nil {
			failed = &m
		}
	}
	if failed != nil {
		st.failCheck(failed.Message)
		return false
	}
	return true
}

// hooksPass calls the hooks of a type in order; the first failure is a
// failed check.
func (st *stepper) hooksPass(t flaggerv1.HookType, what string) bool {
	for _, r := range st.checks.Hooks(t) {
		res := flaggerv1.CheckResult{Name: r.Name, Kind: string(t), Passed: r.Err == nil}
		if r.Err != nil {
			res.Message = r.Err.Error()
		}
		st.record(res)
		if r.Err != nil {
			st.failCheck(fmt.Sprintf("Halt %s advancement %s %s failed %v", st.c, what, r.Name, r.Err))
			return false
		}
	}
	return true
}

// failCheck counts a failed check and rolls back when the threshold is
// reached, so traffic leaves a failing canary without waiting an interval.
func (st *stepper) failCheck(msg string) {
	st.s.FailedChecks++
	st.warn("%s", msg)
	st.s.LastAnalysis.Decision = msg
	if st.s.FailedChecks >= st.c.GetThreshold() {
		st.rollback("Rolling back %s failed checks threshold reached %d", st.c, st.s.FailedChecks)
	}
}

func (st *stepper) record(r flaggerv1.CheckResult) {
	st.s.LastAnalysis.Checks = append(st.s.LastAnalysis.Checks, r)
}

// failedHook reports whether a run stopped at a failed hook of type t.
func failedHook(r *flaggerv1.AnalysisRecord, t flaggerv1.HookType) bool {
	for _, c := range r.Checks {
		if c.Kind == string(t) && !c.Passed {
			return true
		}
	}
	return false
}
