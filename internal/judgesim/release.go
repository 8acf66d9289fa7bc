package judgesim

import (
	"slices"
	"time"

	"github.com/serin-dev/serin/internal/judge"
)

// outcome is how one release ended under one policy.
type outcome struct {
	rolledBack bool
	byPolicy   bool
	// looks is the number of analysis steps the release took.
	looks int
}

func (t *Tally) add(o outcome, interval time.Duration) {
	t.Releases++
	if o.rolledBack {
		t.RolledBack++
	}
	if o.byPolicy {
		t.ByPolicy++
	}
	t.Durations = append(t.Durations, time.Duration(o.looks)*interval)
}

func (t *Tally) sort() { slices.Sort(t.Durations) }

// maxLooks bounds a release: every look either advances the weight or
// counts towards the failed-check threshold or the inconclusive policy.
func (s Settings) maxLooks() int {
	return s.MaxWeight/s.StepWeight + 2 + s.Threshold + s.Judge.Inconclusive.MaxSteps
}

// thresholdRelease plays a release judged by the fixed thresholds, as the
// operator does: the first look is at weight 0, where a metric without
// values passes; each later look checks the canary's success rate and p99
// over the metric window, and a failed check (or no values) holds the
// weight until Threshold of them roll the canary back; a passed check at
// MaxWeight promotes.
func (s Settings) thresholdRelease(st stream) outcome {
	segments := int(s.MetricWindow / s.Interval)
	var window []judge.Sample // the canary's last segments, newest last
	weight, failed := 0, 0
	for look := 0; look < s.maxLooks(); look++ {
		if look > 0 {
			canary, _ := st.segment(look, float64(weight))
			window = append(window, canary)
			if len(window) > segments {
				window = window[1:]
			}
		}
		if !s.checksPass(window, weight) {
			failed++
			if failed >= s.Threshold {
				return outcome{rolledBack: true, looks: look + 1}
			}
			continue
		}
		if weight >= s.MaxWeight {
			return outcome{looks: look + 1}
		}
		weight = min(weight+s.StepWeight, s.MaxWeight)
	}
	return outcome{looks: s.maxLooks()}
}

// checksPass runs request-success-rate and request-duration on the window.
func (s Settings) checksPass(window []judge.Sample, weight int) bool {
	requests, errors := 0.0, 0.0
	latency := judge.Histogram{Bounds: s.Bounds, Counts: make([]float64, len(s.Bounds)+1)}
	for _, seg := range window {
		requests += seg.Counts.Requests
		errors += seg.Counts.Errors
		for i, c := range seg.Latency.Counts {
			latency.Counts[i] += c
		}
	}
	if requests == 0 {
		return weight == 0 // no values: passes only before traffic is routed
	}
	successRate := 100 * (requests - errors) / requests
	return successRate >= s.MinSuccessRate && judge.Quantile(0.99, latency) <= s.MaxP99
}

// judgeRelease plays a release judged by the judge: the first look is at
// weight 0 and has nothing to judge; each later look hands the judge the
// segment since the previous look, for both versions. Fail rolls back,
// Pass advances (or promotes at MaxWeight), Inconclusive holds the weight.
func (s Settings) judgeRelease(st stream) (outcome, error) {
	var state judge.State
	var o outcome
	weight := s.StepWeight
	for look := 1; look < s.maxLooks(); look++ {
		canary, primary := st.segment(look, float64(weight))
		window := judge.Window{Canary: canary, Primary: primary}
		next, d, err := judge.Step(s.Judge, state, map[string]judge.Window{ErrorsComparison: window, LatencyComparison: window})
		if err != nil {
			return o, err
		}
		state = next
		o.byPolicy = o.byPolicy || d.ByPolicy
		o.looks = look + 1
		switch {
		case d.Outcome == judge.Fail:
			o.rolledBack = true
			return o, nil
		case d.Outcome == judge.Pass && weight >= s.MaxWeight:
			return o, nil
		case d.Outcome == judge.Pass:
			weight = min(weight+s.StepWeight, s.MaxWeight)
		}
	}
	return o, nil
}
