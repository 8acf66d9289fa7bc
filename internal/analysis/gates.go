package analysis

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// verdict is what a tick gate lets the analysis run do.
type verdict int

const (
	// pass lets the run go on to the next gate.
	pass verdict = iota
	// hold ends the run without moving the release: it waits.
	hold
	// rollBack ends the release: all traffic returns to the primary.
	rollBack
)

// gateResult is a gate's verdict and, unless it passes, why.
type gateResult struct {
	verdict verdict
	message string
}

// tickGate is one named check of an analysis run.
type tickGate struct {
	name  string
	check func(st *stepper) gateResult
}

// tickGates run in order at each analysis interval; the first that does
// not pass decides the run, and when all pass the release advances. New
// checks (manual levers, an inconclusive judge) slot in here.
var tickGates = []tickGate{
	{"canary ready", (*stepper).canaryReadyGate},
	{"primary ready", (*stepper).primaryReadyGate},
	{"rollback webhook", (*stepper).rollbackHookGate},
	{"failed checks below threshold", (*stepper).thresholdGate},
	{"checks pass", (*stepper).checksGate},
	{"judge", (*stepper).judgeGate},
}

// canaryReadyGate waits for the canary workload and rolls it back when it
// stays not ready past its progress deadline: the Deployment controller's
// own (ProgressDeadlineExceeded), or progressDeadlineSeconds counted from
// when this analysis first saw it not ready. Time spent waiting for a
// gate, a promotion or a restart does not count: a pod restart or a
// scale-up in a long, healthy release starts the clock afresh.
func (st *stepper) canaryReadyGate() gateResult {
	rd := st.obs.CanaryReady
	if rd.Ready {
		st.s.CanaryNotReadySince = nil
		return gateResult{}
	}
	if rd.DeadlineExceeded {
		return gateResult{rollBack, fmt.Sprintf("Rolling back %s progress deadline exceeded %s", st.c, rd.Message)}
	}
	if st.s.CanaryNotReadySince == nil {
		since := st.now()
		st.s.CanaryNotReadySince = &since
	}
	if st.obs.Now.Sub(st.s.CanaryNotReadySince.Time) >= st.c.GetProgressDeadline() {
		return gateResult{rollBack, fmt.Sprintf("Rolling back %s progress deadline exceeded canary not ready since %s: %s",
			st.c, st.s.CanaryNotReadySince.UTC().Format("15:04:05"), rd.Message)}
	}
	return gateResult{hold, rd.Message}
}

// primaryReadyGate waits for the primary: traffic is never moved onto a
// primary that cannot take it.
func (st *stepper) primaryReadyGate() gateResult {
	if rd := st.obs.PrimaryReady; !rd.Ready {
		return gateResult{hold, rd.Message}
	}
	return gateResult{}
}

// rollbackHookGate rolls back when a rollback webhook answers with success.
func (st *stepper) rollbackHookGate() gateResult {
	for _, r := range st.checks.Hooks(flaggerv1.RollbackHook) {
		if r.Err == nil {
			return gateResult{rollBack, fmt.Sprintf("Rolling back %s manual webhook invoked", st.c)}
		}
	}
	return gateResult{}
}

// thresholdGate rolls back a canary whose failed checks already reached
// the threshold (a restart between counting and rolling back).
func (st *stepper) thresholdGate() gateResult {
	if st.s.FailedChecks >= st.c.GetThreshold() {
		return gateResult{rollBack, fmt.Sprintf("Rolling back %s failed checks threshold reached %d", st.c, st.s.FailedChecks)}
	}
	return gateResult{}
}

// checksGate runs the pre-rollout hooks (until they pass once), the
// rollout hooks and the metrics, and records each result in
// status.lastAnalysis. The first failure is a failed check: it halts the
// release, or rolls it back once failed checks reach the threshold, in the
// same run, so traffic leaves a failing canary without waiting an interval.
func (st *stepper) checksGate() gateResult {
	prev := st.c.Status.LastAnalysis
	st.s.LastAnalysis = &flaggerv1.AnalysisRecord{Time: metav1.NewTime(st.obs.Now), CanaryWeight: st.s.CanaryWeight}
	if prev == nil {
		st.info("Starting canary analysis for %s", st.c)
	}
	msg := st.failedCheck(prev)
	if msg == "" {
		st.s.LastAnalysis.Passed = true
		return gateResult{}
	}
	return st.countFailedCheck(msg)
}

// countFailedCheck counts a failed check: it halts the release, or rolls
// it back once failed checks reach the threshold.
func (st *stepper) countFailedCheck(msg string) gateResult {
	st.s.LastAnalysis.Passed = false
	st.s.FailedChecks++
	st.warn("%s", msg)
	st.s.LastAnalysis.Decision = msg
	if st.s.FailedChecks >= st.c.GetThreshold() {
		return gateResult{rollBack, fmt.Sprintf("Rolling back %s failed checks threshold reached %d", st.c, st.s.FailedChecks)}
	}
	return gateResult{hold, msg}
}

// failedCheck runs the checks in order and returns the halt message of the
// first failure; empty when all pass.
func (st *stepper) failedCheck(prev *flaggerv1.AnalysisRecord) string {
	if prev == nil || failedHook(prev, flaggerv1.PreRolloutHook) {
		if msg := st.hooksFail(flaggerv1.PreRolloutHook, "pre-rollout check"); msg != "" {
			return msg
		}
	}
	if msg := st.hooksFail(flaggerv1.RolloutHook, "external check"); msg != "" {
		return msg
	}
	// Before the first step nothing is routed to the canary: a metric
	// without values has nothing to judge (Flagger skips the metrics
	// altogether), while one with values (a load test on the canary
	// service) is judged before any user is sent there.
	unrouted := StrategyOf(st.c) == Canary && st.s.CanaryWeight == 0 && st.s.Iterations == 0
	failed := ""
	for _, m := range st.checks.Metrics() {
		if unrouted && m.NoValues {
			m.Passed, m.Message = true, "no values: no traffic is routed to the canary yet"
		}
		st.record(flaggerv1.CheckResult{Name: m.Name, Kind: "metric", Value: m.Value, Threshold: m.Threshold, Passed: m.Passed, Message: m.Message})
		if !m.Passed && failed == "" {
			failed = m.Message
		}
	}
	return failed
}

// hooksFail calls the hooks of a type in order and returns the halt
// message of the first failure; the hooks after it are not called.
func (st *stepper) hooksFail(t flaggerv1.HookType, what string) string {
	for _, r := range st.checks.Hooks(t) {
		res := flaggerv1.CheckResult{Name: r.Name, Kind: string(t), Passed: r.Err == nil}
		if r.Err != nil {
			res.Message = r.Err.Error()
		}
		st.record(res)
		if r.Err != nil {
			return fmt.Sprintf("Halt %s advancement %s %s failed %v", st.c, what, r.Name, r.Err)
		}
	}
	return ""
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
