package analysis

import (
	"testing"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/levers"
)

const jane = "kubectl-serin:jane"

func asking(l levers.Lever, id string) func(*Observation) {
	return func(o *Observation) {
		if o.Levers == nil {
			o.Levers = map[levers.Lever]levers.Request{}
		}
		o.Levers[l] = levers.Request{ID: id, RequestedBy: jane}
	}
}

func handledAlready(l levers.Lever, id string, applied bool) canaryOpt {
	return func(c *flaggerv1.Canary) {
		if c.Status.Levers == nil {
			c.Status.Levers = &flaggerv1.LeverStatus{}
		}
		levers.SetHandled(c.Status.Levers, l, &flaggerv1.LeverRecord{ID: id, RequestedBy: jane, Applied: applied})
	}
}

func TestLeversAreObservationsTheStepActsOnOnce(t *testing.T) {
	tests := map[string]struct {
		canary    *flaggerv1.Canary
		obs       func(*Observation)
		phase     flaggerv1.CanaryPhase
		weight    int
		lever     levers.Lever
		applied   bool
		event     string
		noChecks  bool
		unhandled bool
	}{
		"abort rolls a release under analysis back, all traffic to the primary": {
			canary: newCanary(atWeight(20)), obs: asking(levers.Abort, "a1"),
			phase: flaggerv1.CanaryPhaseFailed, weight: 0, lever: levers.Abort, applied: true,
			event: "Rolling back podinfo.test abort requested by " + jane, noChecks: true,
		},
		"abort also ends a promotion in progress": {
			canary: newCanary(atWeight(0), inPhase(flaggerv1.CanaryPhasePromoting)), obs: asking(levers.Abort, "a1"),
			phase: flaggerv1.CanaryPhaseFailed, lever: levers.Abort, applied: true, noChecks: true,
		},
		"abort without a release is recorded as not applied": {
			canary: newCanary(inPhase(flaggerv1.CanaryPhaseSucceeded)), obs: asking(levers.Abort, "a1"),
			phase: flaggerv1.CanaryPhaseSucceeded, lever: levers.Abort, applied: false,
			event: "abort of podinfo.test requested by " + jane + " not applied: no release is in progress (phase Succeeded)",
		},
		"an abort already handled is not acted on again": {
			canary: newCanary(atWeight(20), analysedAt(t0), handledAlready(levers.Abort, "a1", true)), obs: asking(levers.Abort, "a1"),
			phase: flaggerv1.CanaryPhaseProgressing, weight: 25, lever: levers.Abort, applied: true, event: "Advance podinfo.test canary weight 25",
		},
		"promote skips the remaining analysis into the promotion path": {
			canary: newCanary(atWeight(10)), obs: asking(levers.Promote, "p1"),
			phase: flaggerv1.CanaryPhasePromoting, weight: 10, lever: levers.Promote, applied: true,
			event: "Promotion of podinfo.test requested by " + jane + ": skipping the remaining analysis", noChecks: true,
		},
		"promote of a failed release is not applied": {
			canary: newCanary(inPhase(flaggerv1.CanaryPhaseFailed)), obs: asking(levers.Promote, "p1"),
			phase: flaggerv1.CanaryPhaseFailed, lever: levers.Promote, applied: false,
		},
		"retry restarts the analysis of a failed revision with the same template": {
			canary: newCanary(inPhase(flaggerv1.CanaryPhaseFailed), withFailedChecks(5)), obs: asking(levers.Retry, "r1"),
			phase: flaggerv1.CanaryPhaseProgressing, lever: levers.Retry, applied: true,
			event: "Retry of podinfo.test requested by " + jane + ": restarting the analysis", noChecks: true,
		},
		"retry of a release under analysis is not applied": {
			canary: newCanary(atWeight(10), analysedAt(t0)), obs: asking(levers.Retry, "r1"),
			phase: flaggerv1.CanaryPhaseProgressing, weight: 15, lever: levers.Retry, applied: false,
		},
		"pause holds the weight and runs no analysis": {
			canary: newCanary(atWeight(10), analysedAt(t0)), obs: asking(levers.Pause, "s1"),
			phase: flaggerv1.CanaryPhaseProgressing, weight: 10, lever: levers.Pause, applied: true,
			event: "Pause of podinfo.test requested by " + jane + ": held at canary weight 10", noChecks: true,
		},
		"a pause in force keeps holding": {
			canary: newCanary(atWeight(10), analysedAt(t0), handledAlready(levers.Pause, "s1", true)), obs: asking(levers.Pause, "s1"),
			phase: flaggerv1.CanaryPhaseProgressing, weight: 10, lever: levers.Pause, applied: true, noChecks: true,
		},
		"abort acts on a paused release": {
			canary: newCanary(atWeight(10), handledAlready(levers.Pause, "s1", true)),
			obs:    func(o *Observation) { asking(levers.Pause, "s1")(o); asking(levers.Abort, "a1")(o) },
			phase:  flaggerv1.CanaryPhaseFailed, lever: levers.Abort, applied: true, noChecks: true,
		},
		"removing the annotation resumes at once": {
			canary: newCanary(atWeight(10), analysedAt(t0), handledAlready(levers.Pause, "s1", true)),
			phase:  flaggerv1.CanaryPhaseProgressing, weight: 15, lever: levers.Pause, unhandled: true,
			event: "Resume of podinfo.test: the pause set by " + jane + " was lifted",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checks := &fakeChecks{metrics: []MetricResult{{Name: "request-success-rate", Value: "100", Passed: true}}}
			d := Step(tc.canary, healthyExcept(tc.obs), checks)
			if d.Status.Phase != tc.phase || d.Status.CanaryWeight != tc.weight {
				t.Errorf("phase %s at weight %d, want %s at %d", d.Status.Phase, d.Status.CanaryWeight, tc.phase, tc.weight)
			}
			rec := levers.Handled(d.Status.Levers, tc.lever)
			switch {
			case tc.unhandled && rec != nil:
				t.Errorf("status.levers still records %+v", rec)
			case !tc.unhandled && (rec == nil || rec.Applied != tc.applied || rec.RequestedBy != jane):
				t.Errorf("status.levers records %+v, want applied=%v by %s", rec, tc.applied, jane)
			}
			if tc.event != "" && !hasEvent(d.Events, tc.event) {
				t.Errorf("events %+v, want %q", d.Events, tc.event)
			}
			if ran := d.Status.LastAnalysis != tc.canary.Status.LastAnalysis && d.Status.LastAnalysis != nil &&
				(tc.canary.Status.LastAnalysis == nil || !d.Status.LastAnalysis.Time.Equal(&tc.canary.Status.LastAnalysis.Time)); tc.noChecks && ran {
				t.Errorf("an analysis ran: %+v", d.Status.LastAnalysis)
			}
		})
	}
}

func TestASuspendedCanaryLeavesLeversPending(t *testing.T) {
	c := newCanary(atWeight(10), withSpec(func(s *flaggerv1.CanarySpec) { s.Suspend = true }))
	d := Step(c, healthyExcept(asking(levers.Abort, "a1")), &fakeChecks{})
	if d.Status.Phase != flaggerv1.CanaryPhaseProgressing || d.Status.Levers != nil {
		t.Errorf("a suspended canary acted on a lever: phase %s, levers %+v", d.Status.Phase, d.Status.Levers)
	}
}
