package view

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Explanation says where a release stands and why, in words and numbers.
type Explanation struct {
	// Headline says where the release stands.
	Headline string `json:"headline"`
	// Run says when the last analysis run was, at which weight, and its
	// verdict.
	Run string `json:"run,omitempty"`
	// Checks say each check of that run: value against threshold.
	Checks []string `json:"checks,omitempty"`
	// Decision is what the operator decided after the run.
	Decision string `json:"decision,omitempty"`
	// Next says what happens next and what a person can do.
	Next []string `json:"next,omitempty"`
}

// TimeFormat is how explanations write times.
const TimeFormat = "15:04:05 UTC"

// reconcilingCondition is kstatus's Reconciling condition, whose message
// says what a release waits for.
const reconcilingCondition = "Reconciling"

// Explain explains c's last step.
func Explain(c *flaggerv1.Canary) Explanation {
	e := Explanation{Headline: headline(c)}
	if la := c.Status.LastAnalysis; la != nil {
		verdict := "passed"
		if !la.Passed {
			verdict = "failed"
		}
		e.Run = fmt.Sprintf("The last analysis run, at %s with canary weight %d, %s.", la.Time.UTC().Format(TimeFormat), la.CanaryWeight, verdict)
		for _, chk := range la.Checks {
			e.Checks = append(e.Checks, checkLine(chk))
		}
		e.Decision = la.Decision
	}
	e.Next = next(c)
	return e
}

// headline says in one sentence where the release stands.
func headline(c *flaggerv1.Canary) string {
	s := c.Status
	switch s.Phase {
	case "", flaggerv1.CanaryPhaseInitializing:
		return fmt.Sprintf("%s is not initialized yet.", c)
	case flaggerv1.CanaryPhaseInitialized:
		return fmt.Sprintf("%s is initialized: all traffic goes to the primary; a change to %s %s starts a release.", c, c.Spec.TargetRef.Kind, c.Spec.TargetRef.Name)
	case flaggerv1.CanaryPhaseWaiting:
		return fmt.Sprintf("%s has a new revision waiting for approval to start (confirm-rollout).", c)
	case flaggerv1.CanaryPhaseProgressing:
		return fmt.Sprintf("%s is Progressing: %s, %d of %d failed checks.", c, progress(c), s.FailedChecks, c.GetThreshold())
	case flaggerv1.CanaryPhaseWaitingPromotion:
		return fmt.Sprintf("%s passed its analysis and waits for promotion approval (confirm-promotion), %s.", c, progress(c))
	case flaggerv1.CanaryPhasePromoting:
		return fmt.Sprintf("%s is being promoted: the primary takes the new revision, canary weight %d.", c, s.CanaryWeight)
	case flaggerv1.CanaryPhaseFinalising:
		return fmt.Sprintf("%s is promoted: all traffic goes to the primary and the canary is scaled down.", c)
	case flaggerv1.CanaryPhaseSucceeded:
		return fmt.Sprintf("%s promoted its last release; all traffic goes to the primary.", c)
	case flaggerv1.CanaryPhaseFailed:
		return fmt.Sprintf("%s rolled back its last release after %d failed checks; all traffic goes to the primary.", c, s.FailedChecks)
	}
	return fmt.Sprintf("%s is %s.", c, s.Phase)
}

// progress says how far a release got: weight or iteration.
func progress(c *flaggerv1.Canary) string {
	if a := c.GetAnalysis(); a != nil && a.Iterations > 0 {
		return fmt.Sprintf("iteration %d of %d", c.Status.Iterations, a.Iterations)
	}
	return fmt.Sprintf("canary weight %d of at most %d", c.Status.CanaryWeight, c.GetMaxWeight())
}

// checkLine says one check's verdict with its numbers.
func checkLine(chk flaggerv1.CheckResult) string {
	verdict := "passed"
	if !chk.Passed {
		verdict = "failed"
	}
	var b strings.Builder
	if chk.Kind == "metric" {
		value := chk.Value
		if value == "" {
			value = "no value"
		}
		fmt.Fprintf(&b, "%s: %s", chk.Name, value)
		if chk.Threshold != "" {
			fmt.Fprintf(&b, " against %s", chk.Threshold)
		}
	} else {
		fmt.Fprintf(&b, "%s webhook %s", chk.Kind, chk.Name)
	}
	fmt.Fprintf(&b, ": %s", verdict)
	if chk.Message != "" {
		fmt.Fprintf(&b, " (%s)", chk.Message)
	}
	return b.String()
}

// next says what happens next and what a person can do about it.
func next(c *flaggerv1.Canary) []string {
	s := c.Status
	var out []string
	if cond := meta.FindStatusCondition(s.Conditions, flaggerv1.ReadyCondition); cond != nil && cond.Status == metav1.ConditionFalse {
		out = append(out, fmt.Sprintf("The operator cannot reconcile it (%s): %s", cond.Reason, cond.Message))
	}
	if c.Spec.Suspend {
		out = append(out, "spec.suspend is true: nothing moves until it is set to false.")
	}
	if l := s.Levers; l != nil && l.Pause != nil {
		out = append(out, fmt.Sprintf("Paused by %s at %s: kubectl serin resume %s lets it go on.", requester(l.Pause.RequestedBy), l.Pause.Time.UTC().Format(TimeFormat), c.Name))
	}
	if cond := meta.FindStatusCondition(s.Conditions, reconcilingCondition); cond != nil && cond.Status == metav1.ConditionTrue && cond.Message != "" {
		out = append(out, "Waiting: "+cond.Message)
	}
	switch s.Phase {
	case flaggerv1.CanaryPhaseProgressing:
		if left := c.GetThreshold() - s.FailedChecks; s.FailedChecks > 0 && left > 0 {
			out = append(out, fmt.Sprintf("%d more failed %s roll it back.", left, plural(left, "check", "checks")))
		}
		if la := s.LastAnalysis; la != nil {
			out = append(out, fmt.Sprintf("The next analysis run is due at %s.", la.Time.Add(c.GetInterval()).UTC().Format(TimeFormat)))
		}
		fallthrough
	case flaggerv1.CanaryPhaseWaitingPromotion, flaggerv1.CanaryPhaseWaiting:
		out = append(out, fmt.Sprintf("kubectl serin promote %s promotes it now; kubectl serin abort %s rolls it back.", c.Name, c.Name))
	case flaggerv1.CanaryPhaseFailed:
		out = append(out, fmt.Sprintf("kubectl serin retry %s runs the analysis of the same revision again.", c.Name))
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
