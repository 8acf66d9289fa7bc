package replay

import (
	"fmt"
	"math"
	"time"
)

// Sample is one point of a recorded series.
type Sample struct {
	Time  time.Time
	Value float64
}

// Outcome is how a release ended.
type Outcome string

// The outcomes of a release, live or replayed.
const (
	Promoted   Outcome = "promoted"
	RolledBack Outcome = "rolled back"
	// Unfinished is a release still progressing at the end of the window.
	Unfinished Outcome = "unfinished"
)

// Step is one analysis step the operator took live.
type Step struct {
	Time time.Time
	// LiveWeight is the canary weight right after the step.
	LiveWeight int
	// End is set on the step that ended the live release: its weight went
	// back to 0.
	End bool
}

// Release is one live release: from the step that first routed traffic to
// the canary to the one that routed it all back to the primary.
type Release struct {
	Steps []Step
	// Outcome is what the operator did live, from flagger_canary_status.
	Outcome Outcome
}

// Releases finds the releases in the live weight series of a canary and
// the analysis steps the operator took in each. A release starts where
// the weight leaves 0 and ends where it returns to 0. Every change of the
// weight is a step the operator took (an advance, a rollback or the end
// of a promotion), seen at the first scrape after it; between two changes
// the operator took steps at about every interval (halts and holds), which
// are spread evenly between them so the drift of the live requeues is
// shared out rather than accumulated. A release already under way at the
// window's start is skipped: its earlier steps are unknown. status is the
// flagger_canary_status series (1 succeeded, 2 failed).
func Releases(weights, status []Sample, interval time.Duration, end time.Time) ([]Release, error) {
	if interval <= 0 {
		return nil, fmt.Errorf("analysis interval %s: it must be positive", interval)
	}
	var out []Release
	var cur *Release
	var last Sample
	for i, s := range weights {
		w := int(math.Round(s.Value))
		switch {
		case cur == nil && w > 0 && i > 0 && last.Value == 0:
			cur = &Release{Steps: []Step{{Time: s.Time, LiveWeight: w}}}
		case cur == nil:
		case w == 0:
			cur.fill(s.Time, interval)
			cur.Steps = append(cur.Steps, Step{Time: s.Time, LiveWeight: 0, End: true})
			cur.Outcome = outcomeAfter(status, s.Time)
			out = append(out, *cur)
			cur = nil
		case w != int(math.Round(last.Value)):
			cur.fill(s.Time, interval)
			cur.Steps = append(cur.Steps, Step{Time: s.Time, LiveWeight: w})
		}
		last = s
	}
	if cur != nil {
		held := cur.Steps[len(cur.Steps)-1]
		for t := held.Time.Add(interval); !t.After(end); t = t.Add(interval) {
			cur.Steps = append(cur.Steps, Step{Time: t, LiveWeight: held.LiveWeight})
		}
		cur.Outcome = Unfinished
		out = append(out, *cur)
	}
	return out, nil
}

// fill adds the steps that held the weight between the last step and the
// next change at next.
func (r *Release) fill(next time.Time, interval time.Duration) {
	prev := r.Steps[len(r.Steps)-1]
	gap := next.Sub(prev.Time)
	n := int(math.Round(float64(gap)/float64(interval))) - 1
	for j := 1; j <= n; j++ {
		t := prev.Time.Add(gap * time.Duration(j) / time.Duration(n+1))
		r.Steps = append(r.Steps, Step{Time: t, LiveWeight: prev.LiveWeight})
	}
}

// outcomeAfter reads the live outcome of a release that ended at t: the
// first flagger_canary_status sample from t on that is not progressing.
func outcomeAfter(status []Sample, t time.Time) Outcome {
	for _, s := range status {
		if s.Time.Before(t) {
			continue
		}
		switch s.Value {
		case 1:
			return Promoted
		case 2:
			return RolledBack
		}
	}
	return Unfinished
}

// StepReleases finds the releases and their steps in the operator's
// serin_canary_last_analysis_timestamp_seconds series (raw samples, each
// at its scrape time): every new value is the time of one analysis step,
// to the millisecond. A release starts after a 0 (no step yet in this
// release) or after the canary was idle (flagger_canary_status 1 or 2)
// since the previous step, or, before any release, at a step from weight
// 0; a release under way at the window's start at a weight above 0 is
// skipped. A step's live weight is the weight the scrape that first
// showed it read.
func StepReleases(analysisTimes, weights, status []Sample) []Release {
	var out []Release
	var cur *Release
	prev, changed := Sample{Value: -1}, time.Time{}
	for _, s := range analysisTimes {
		step := s.Value != 0 && s.Value != prev.Value
		// Before any release, a step from weight 0 is a release's first:
		// the canary can go from Initialized to its first step between
		// two scrapes, leaving neither a 0 nor an idle status behind.
		fresh := cur == nil && step && recordedZero(weights, s.Time.Add(-time.Millisecond))
		switch {
		case s.Value == 0 || (step && idleBetween(status, changed, s.Time)) || fresh:
			closeRelease(&out, cur, status, s.Time)
			cur = &Release{}
		}
		if step && cur != nil {
			at := time.UnixMilli(int64(math.Round(s.Value * 1000)))
			cur.Steps = append(cur.Steps, Step{Time: at, LiveWeight: weightAt(weights, s.Time)})
		}
		if s.Value != prev.Value {
			changed = s.Time
		}
		prev = s
	}
	closeRelease(&out, cur, status, time.Time{})
	return out
}

// idleBetween reports whether the canary was idle (succeeded, failed or
// initialized) at a sample after from and before to.
func idleBetween(status []Sample, from, to time.Time) bool {
	for _, s := range status {
		if s.Time.After(from) && s.Time.Before(to) && (s.Value == 1 || s.Value == 2) {
			return true
		}
	}
	return false
}

// closeRelease adds a release with steps to out: its last step ended it
// when the operator reported an outcome after it and before the next
// release started at next (zero: none did).
func closeRelease(out *[]Release, r *Release, status []Sample, next time.Time) {
	if r == nil || len(r.Steps) == 0 {
		return
	}
	last := &r.Steps[len(r.Steps)-1]
	var until []Sample
	for _, s := range status {
		if next.IsZero() || s.Time.Before(next) {
			until = append(until, s)
		}
	}
	r.Outcome = outcomeAfter(until, last.Time)
	last.End = r.Outcome != Unfinished
	*out = append(*out, *r)
}

// recordedZero reports whether the last weight sample before t read 0.
func recordedZero(weights []Sample, t time.Time) bool {
	return len(weights) > 0 && !weights[0].Time.After(t) && weightAt(weights, t) == 0
}

// weightAt is the weight the last sample at or before t read.
func weightAt(weights []Sample, t time.Time) int {
	w := 0.0
	for _, s := range weights {
		if s.Time.After(t) {
			break
		}
		w = s.Value
	}
	return int(math.Round(w))
}
