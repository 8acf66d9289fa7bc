package replay

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 18, 50, 0, 0, time.UTC)

// series builds samples one second apart from values.
func series(values ...float64) []Sample {
	out := make([]Sample, len(values))
	for i, v := range values {
		out[i] = Sample{Time: t0.Add(time.Duration(i) * time.Second), Value: v}
	}
	return out
}

// repeat returns v n times.
func repeat(v float64, n int) []float64 { return slices.Repeat([]float64{v}, n) }

func TestReleasesPutAStepOnEveryWeightChangeAndSpreadTheHoldsBetweenThem(t *testing.T) {
	tests := map[string]struct {
		// weights is the live weight, one sample a second, then late.
		weights []float64
		// late are samples after weights, with their offsets in seconds.
		late [][2]float64
		// status is flagger_canary_status, one sample a second.
		status []float64
		// interval is the analysis interval.
		interval time.Duration
		// want are the steps' offsets from t0 in seconds and live weights
		// of each release, and the releases' live outcomes.
		want     [][][2]float64
		outcomes []Outcome
	}{
		"advances every interval then a promotion": {
			weights:  concat(repeat(0, 3), repeat(5, 2), repeat(10, 2), repeat(0, 3)),
			status:   concat(repeat(1, 3), repeat(0, 7), []float64{1}),
			interval: 2 * time.Second,
			want:     [][][2]float64{{{3, 5}, {5, 10}, {7, 0}}},
			outcomes: []Outcome{Promoted},
		},
		"four halts between the last advance and the rollback, with drift": {
			// advance to 15 at 2 s, rollback seen 10.6 s later (5 intervals
			// of 2 s and 0.6 s of drift): four holds spread evenly.
			weights:  concat(repeat(0, 2), repeat(15, 11)),
			late:     [][2]float64{{12.6, 0}, {13.6, 0}},
			status:   concat(repeat(0, 14), []float64{2}),
			interval: 2 * time.Second,
			want:     [][][2]float64{{{2, 15}, {4.12, 15}, {6.24, 15}, {8.36, 15}, {10.48, 15}, {12.6, 0}}},
			outcomes: []Outcome{RolledBack},
		},
		"a release under way when the window starts is skipped": {
			weights:  concat(repeat(10, 2), repeat(0, 2), repeat(5, 2), repeat(0, 1)),
			status:   concat(repeat(0, 6), []float64{2}),
			interval: 2 * time.Second,
			want:     [][][2]float64{{{4, 5}, {6, 0}}},
			outcomes: []Outcome{RolledBack},
		},
		"an unfinished release holds its last weight every interval to the end": {
			weights:  concat(repeat(0, 1), repeat(5, 6)),
			status:   repeat(0, 7),
			interval: 2 * time.Second,
			want:     [][][2]float64{{{1, 5}, {3, 5}, {5, 5}}},
			outcomes: []Outcome{Unfinished},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			weights := series(tc.weights...)
			for _, l := range tc.late {
				weights = append(weights, Sample{Time: t0.Add(time.Duration(l[0] * float64(time.Second))), Value: l[1]})
			}
			end := weights[len(weights)-1].Time
			releases, err := Releases(weights, series(tc.status...), tc.interval, end)
			if err != nil {
				t.Fatal(err)
			}
			var got [][][2]float64
			var outcomes []Outcome
			for _, r := range releases {
				var steps [][2]float64
				for _, s := range r.Steps {
					steps = append(steps, [2]float64{s.Time.Sub(t0).Seconds(), float64(s.LiveWeight)})
				}
				got, outcomes = append(got, steps), append(outcomes, r.Outcome)
			}
			if !equalSteps(got, tc.want) || !slices.Equal(outcomes, tc.outcomes) {
				t.Errorf("steps %v outcomes %v, want %v %v", got, outcomes, tc.want, tc.outcomes)
			}
		})
	}
}

func TestReleasesRefuseANonPositiveInterval(t *testing.T) {
	if _, err := Releases(series(0, 5), nil, 0, t0); err == nil {
		t.Error("a zero interval was accepted")
	}
}

func concat(parts ...[]float64) []float64 { return slices.Concat(parts...) }

func equalSteps(a, b [][][2]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if d := a[i][j][0] - b[i][j][0]; d > 0.001 || d < -0.001 || a[i][j][1] != b[i][j][1] {
				return false
			}
		}
	}
	return true
}

func TestStepReleasesTakeEachNewAnalysisTimeAsAStepWithTheWeightOfItsScrape(t *testing.T) {
	at := func(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }
	unix := func(sec float64) float64 { return float64(at(sec).UnixMilli()) / 1000 }
	// A release under way at weight 20 (skipped), a new one: 5 at 10.3 s, 10 at
	// 12.4 s, a halt at 14.5 s, the rollback at 16.6 s; scraped every
	// second at .8.
	analysis := []Sample{
		{at(0.8), unix(-5)}, {at(1.8), unix(-5)}, {at(2.8), 0}, {at(9.8), 0},
		{at(10.8), unix(10.3)}, {at(11.8), unix(10.3)}, {at(12.8), unix(12.4)}, {at(13.8), unix(12.4)},
		{at(14.8), unix(14.5)}, {at(15.8), unix(14.5)}, {at(16.8), unix(16.6)}, {at(17.8), unix(16.6)},
		// The next release, without a 0 scraped: its first step at 20.1.
		{at(18.8), unix(16.6)}, {at(19.8), unix(16.6)}, {at(20.8), unix(20.1)},
	}
	weights := []Sample{{at(0.8), 20}, {at(2.8), 0}, {at(10.8), 5}, {at(12.8), 10}, {at(14.8), 10}, {at(16.8), 0}, {at(20.8), 5}}
	status := []Sample{{at(0.8), 0}, {at(16.8), 2}, {at(17.8), 2}, {at(18.8), 0}, {at(19.8), 0}, {at(20.8), 0}}
	got := StepReleases(analysis, weights, status)
	want := []Release{{Outcome: RolledBack, Steps: []Step{
		{Time: at(10.3), LiveWeight: 5}, {Time: at(12.4), LiveWeight: 10}, {Time: at(14.5), LiveWeight: 10}, {Time: at(16.6), LiveWeight: 0, End: true},
	}}}
	if len(got) != 2 || len(got[1].Steps) != 1 || got[1].Outcome != Unfinished || !got[1].Steps[0].Time.Equal(at(20.1)) {
		t.Errorf("second release %+v, want one unfinished step at 20.1 s", got[1:])
	}
	if len(got) < 1 || got[0].Outcome != want[0].Outcome || !slices.EqualFunc(got[0].Steps, want[0].Steps, func(a, b Step) bool {
		return a.Time.Sub(b.Time).Abs() < time.Millisecond && a.LiveWeight == b.LiveWeight && a.End == b.End
	}) {
		t.Errorf("releases %+v, want %+v", got, want)
	}
}
