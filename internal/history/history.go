// Package history keeps status.history, the bounded record of a canary's
// recent steps that the plugin and the dashboard draw without Prometheus.
//
// A record is added when a status write changes the phase, the weight,
// the failed-check count, the iterations or the last analysis run; a
// write that only touches conditions adds none. The record rides on the
// status write the step makes anyway, so history costs no API request of
// its own, and an idle canary writes nothing. At most
// flaggerv1.HistoryLimit records are kept, the oldest dropped first; a
// passed check's message is dropped, and texts are cut to the schema's
// bounds, so the history stays around 10 KB whatever a tenant writes.
package history

import (
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/egress"
)

// Schema bounds of a record (see flaggerv1.HistoryRecord).
const (
	maxChecks   = 32
	maxDecision = 512
	maxMessage  = 512
)

// Next returns after's history with a record of the step from before to
// after appended when the step changed what a record shows; now stamps a
// step that ran no analysis.
func Next(before, after *flaggerv1.CanaryStatus, now time.Time) []flaggerv1.HistoryRecord {
	ran := newRun(before.LastAnalysis, after.LastAnalysis)
	if !ran && before.Phase == after.Phase && before.CanaryWeight == after.CanaryWeight &&
		before.FailedChecks == after.FailedChecks && before.Iterations == after.Iterations {
		return after.History
	}
	rec := flaggerv1.HistoryRecord{
		Time: metav1.NewTime(now), Revision: after.LastAppliedSpec, Phase: after.Phase,
		CanaryWeight: after.CanaryWeight, FailedChecks: after.FailedChecks, Iterations: after.Iterations,
	}
	if ran {
		a := after.LastAnalysis
		rec.Time, rec.Passed, rec.Decision = a.Time, a.Passed, a.Decision
		rec.Checks = checks(a.Checks)
	} else if c := meta.FindStatusCondition(after.Conditions, flaggerv1.PromotedCondition); c != nil {
		rec.Decision = c.Message
	}
	rec.Decision = cut(rec.Decision, maxDecision)
	out := append(append([]flaggerv1.HistoryRecord{}, after.History...), rec)
	if n := len(out) - flaggerv1.HistoryLimit; n > 0 {
		out = out[n:]
	}
	return out
}

// newRun tells whether after is an analysis run before had not seen.
func newRun(before, after *flaggerv1.AnalysisRecord) bool {
	switch {
	case after == nil:
		return false
	case before == nil:
		return true
	}
	return !before.Time.Equal(&after.Time) || before.Decision != after.Decision
}

// checks copies a run's checks within the record's bounds.
func checks(in []flaggerv1.CheckResult) []flaggerv1.CheckResult {
	if len(in) > maxChecks {
		in = in[:maxChecks]
	}
	out := make([]flaggerv1.CheckResult, len(in))
	for i, c := range in {
		if c.Passed {
			c.Message = ""
		}
		c.Message = cut(c.Message, maxMessage)
		out[i] = c
	}
	return out
}

// cut makes s one line of at most n characters, as the schema counts
// them.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return egress.Sanitize(s, n-1) // Sanitize adds an ellipsis
}
