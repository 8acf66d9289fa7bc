package replay

import (
	"context"
	"fmt"
	"io"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
	"github.com/serin-dev/serin/internal/controller"
	"github.com/serin-dev/serin/internal/metrics"
	"github.com/serin-dev/serin/internal/workload"
)

// MaxSteps bounds the steps of one replay (all releases together).
const MaxSteps = 10000

// replayRevision is the template hash the replayed status runs: a replay
// never sees a new revision in the middle of a release.
const replayRevision = "replay"

// Replayer runs a canary's analysis over recorded releases.
type Replayer struct {
	Canary   *flaggerv1.Canary
	Provider string
	// Checker runs the canary's queries; its Now is set to each step's time.
	Checker *metrics.Checker
	Out     io.Writer
}

// Result is what a replayed release decided.
type Result struct {
	Outcome Outcome
	// Decisions are the events of the replayed steps, in order.
	Decisions []string
	// Diverged is the index of the first step where the replay decided
	// otherwise than the operator did live; -1 when it never did.
	Diverged int
}

// Run replays each release, prints its steps and returns what each decided.
func (r *Replayer) Run(ctx context.Context, releases []Release) ([]Result, error) {
	total := 0
	for _, rel := range releases {
		total += len(rel.Steps)
	}
	if total > MaxSteps {
		return nil, fmt.Errorf("the window holds %d analysis steps, more than %d: narrow --from/--to", total, MaxSteps)
	}
	out := make([]Result, 0, len(releases))
	for i, rel := range releases {
		fmt.Fprintf(r.Out, "\nRelease %d of %s: %s, live %s after %d steps\n", i+1, r.Canary, rel.Steps[0].Time.UTC().Format(time.RFC3339), rel.Outcome, len(rel.Steps))
		out = append(out, r.release(ctx, rel))
	}
	return out, nil
}

// release replays one release from its first step.
func (r *Replayer) release(ctx context.Context, rel Release) Result {
	c := r.Canary.DeepCopy()
	c.Status = flaggerv1.CanaryStatus{Phase: flaggerv1.CanaryPhaseProgressing, LastAppliedSpec: replayRevision}
	var now time.Time
	r.Checker.Now = func() time.Time { return now }
	checks := &recorded{ctx: ctx, canary: c, provider: r.Provider, metrics: controller.MetricsClient{Checker: r.Checker}}
	ready := workload.Readiness{Ready: true}
	res := Result{Outcome: Unfinished, Diverged: -1}
	for i, step := range rel.Steps {
		now = step.Time
		dueAt(c, now)
		d := analysis.Step(c, analysis.Observation{Now: now, Target: analysis.Revision{TemplateHash: replayRevision},
			CanaryReady: ready, PrimaryReady: ready}, checks)
		c.Status = d.Status
		var msgs []string
		for _, e := range d.Events {
			msgs = append(msgs, e.Message)
		}
		res.Decisions = append(res.Decisions, msgs...)
		res.Outcome = outcomeOf(c.Status.Phase)
		if res.Diverged < 0 && diverges(rel, i, c.Status, res.Outcome) {
			res.Diverged = i
		}
		r.print(step, c.Status, msgs, res.Diverged >= 0 && i >= res.Diverged, res.Diverged == i)
		if res.Outcome != Unfinished {
			return res
		}
	}
	if res.Diverged < 0 && rel.Outcome != Unfinished {
		res.Diverged = len(rel.Steps) - 1
		fmt.Fprintf(r.Out, "  the live release ended here; the replay is still at weight %d\n", c.Status.CanaryWeight)
	}
	return res
}

// dueAt makes the step at now due. The live operator took a step at now;
// the step times read from scrapes can be a little less than an interval
// apart, which the engine would take for a step that is not due yet.
func dueAt(c *flaggerv1.Canary, now time.Time) {
	earliest := metav1.NewTime(now.Add(-c.GetInterval()))
	if la := c.Status.LastAnalysis; la != nil && la.Time.After(earliest.Time) {
		la.Time = earliest
	}
	if j := c.Status.Judge; j != nil && j.Since != nil && j.Since.After(earliest.Time) {
		j.Since = &earliest
	}
}

// outcomeOf is how a replayed release stands after a step.
func outcomeOf(p flaggerv1.CanaryPhase) Outcome {
	switch p {
	case flaggerv1.CanaryPhasePromoting, flaggerv1.CanaryPhaseFinalising, flaggerv1.CanaryPhaseSucceeded:
		return Promoted
	case flaggerv1.CanaryPhaseFailed:
		return RolledBack
	}
	return Unfinished
}

// diverges reports whether the replay's state after step i is not what
// the operator's was: another weight while both are in the release, or
// another ending. A promotion starts at the maximum weight and the live
// weight drops to 0 only when the traffic is routed back, so a replayed
// promotion matches any later live step of a promoted release.
func diverges(rel Release, i int, s flaggerv1.CanaryStatus, replayed Outcome) bool {
	live := rel.Steps[i]
	switch replayed {
	case Unfinished:
		return live.End || s.CanaryWeight != live.LiveWeight
	case Promoted:
		return rel.Outcome != Promoted || weightMovesAfter(rel, i)
	default:
		return rel.Outcome != RolledBack || !live.End
	}
}

// weightMovesAfter reports whether the live weight changed after step i
// before the release ended.
func weightMovesAfter(rel Release, i int) bool {
	for _, s := range rel.Steps[i+1:] {
		if !s.End && s.LiveWeight != rel.Steps[i].LiveWeight {
			return true
		}
	}
	return false
}

// print writes one step: its time, the live and replayed weights and the
// what-if label after a divergence, then each decision on a line of its
// own (indented four spaces) and the checks' numbers (eight).
func (r *Replayer) print(step Step, s flaggerv1.CanaryStatus, msgs []string, whatIf, first bool) {
	label := ""
	switch {
	case first:
		label = "  <- first divergence: what-if from here"
	case whatIf:
		label = "  (what-if)"
	}
	fmt.Fprintf(r.Out, "%s  live weight %3d  replay weight %3d%s\n", step.Time.UTC().Format("15:04:05"), step.LiveWeight, s.CanaryWeight, label)
	for _, m := range msgs {
		fmt.Fprintf(r.Out, "    %s\n", m)
	}
	if s.LastAnalysis == nil || !s.LastAnalysis.Time.Time.Equal(step.Time) {
		return
	}
	for _, ch := range s.LastAnalysis.Checks {
		fmt.Fprintf(r.Out, "        %s\n", checkText(ch))
	}
}

// checkText writes one check's numbers.
func checkText(ch flaggerv1.CheckResult) string {
	if ch.Kind == "comparison" && ch.Verdict != "" {
		return fmt.Sprintf("%s: canary %s primary %s effect %s [%s, %s] allowed %s after %s canary requests: %s",
			ch.Name, ch.Canary, ch.Primary, ch.Effect, ch.Lower, ch.Upper, ch.Allowed, ch.CanaryRequests, ch.Verdict)
	}
	verdict := "passed"
	if !ch.Passed {
		verdict = "failed"
	}
	if ch.Value == "" {
		return fmt.Sprintf("%s %s: %s %s", ch.Kind, ch.Name, verdict, ch.Message)
	}
	return fmt.Sprintf("%s %s: %s (%s) %s", ch.Kind, ch.Name, ch.Value, ch.Threshold, verdict)
}
