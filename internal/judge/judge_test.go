package judge

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

// window is a look in which the canary gets a tenth of the traffic, with
// the given error counts and latency medians.
func window(requests, canaryErrors, primaryErrors, canaryMedian float64) Window {
	return Window{
		Canary:  Sample{Counts: Counts{requests / 10, canaryErrors}, Latency: expectedHistogram(requests/10, canaryMedian, 0.5)},
		Primary: Sample{Counts: Counts{requests * 9 / 10, primaryErrors}, Latency: expectedHistogram(requests*9/10, 100, 0.5)},
	}
}

func both(w Window) map[string]Window {
	return map[string]Window{"request-success-rate": w, "request-duration": w}
}

// steps runs Step n times with the same windows and returns the last
// state and decision.
func steps(t *testing.T, cfg Config, st State, n int, windows map[string]Window) (State, Decision) {
	t.Helper()
	var d Decision
	for range n {
		var err error
		if st, d, err = Step(cfg, st, windows); err != nil {
			t.Fatal(err)
		}
	}
	return st, d
}

func TestStep(t *testing.T) {
	tests := map[string]struct {
		looks    int       // how many times the window is observed
		window   Window    // each look's window
		then     Action    // the inconclusive policy's action
		want     Outcome   // the last step's outcome
		byPolicy bool      // whether the policy chose it
		verdicts []Outcome // each comparison's outcome
	}{
		"a healthy canary with plenty of traffic passes": {
			looks: 30, window: window(10000, 1, 9, 100), then: ThenFail, want: Pass, verdicts: []Outcome{Pass, Pass},
		},
		"a canary failing one comparison fails although the other passes": {
			looks: 30, window: window(10000, 100, 9, 100), then: ThenPromote, want: Fail, verdicts: []Outcome{Fail, Pass},
		},
		"a healthy canary without enough traffic is inconclusive": {
			looks: 3, window: window(20, 0, 0, 100), then: ThenFail, want: Inconclusive, verdicts: []Outcome{Inconclusive, Inconclusive},
		},
		"after the allowed inconclusive steps a promote policy passes": {
			looks: 6, window: window(20, 0, 0, 100), then: ThenPromote, want: Pass, byPolicy: true, verdicts: []Outcome{Inconclusive, Inconclusive},
		},
		"after the allowed inconclusive steps a fail policy fails": {
			looks: 6, window: window(20, 0, 0, 100), then: ThenFail, want: Fail, byPolicy: true, verdicts: []Outcome{Inconclusive, Inconclusive},
		},
		"a clear failure is not waived by a promote policy": {
			looks: 3, window: window(1000, 50, 1, 300), then: ThenPromote, want: Fail, verdicts: []Outcome{Fail, Fail},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := seedConfig()
			cfg.Inconclusive = InconclusivePolicy{MaxSteps: 5, Then: tc.then}
			st, d := steps(t, cfg, State{}, tc.looks, both(tc.window))
			if d.Outcome != tc.want || d.ByPolicy != tc.byPolicy {
				t.Fatalf("decision %s (by policy %v), want %s (by policy %v): %s", d.Outcome, d.ByPolicy, tc.want, tc.byPolicy, d.Summary())
			}
			var got []Outcome
			for _, v := range d.Verdicts {
				got = append(got, v.Outcome)
			}
			if !reflect.DeepEqual(got, tc.verdicts) {
				t.Errorf("verdicts %v, want %v: %s", got, tc.verdicts, d.Summary())
			}
			if st.Looks != tc.looks {
				t.Errorf("looks %d, want %d", st.Looks, tc.looks)
			}
		})
	}
}

func TestStepRefusesWindowsThatDoNotMatchTheComparisons(t *testing.T) {
	w := window(100, 0, 0, 100)
	tests := map[string]struct {
		windows map[string]Window
		err     string
	}{
		"a missing window":  {map[string]Window{"request-success-rate": w}, "no window for comparison request-duration"},
		"an unknown window": {map[string]Window{"request-success-rate": w, "request-duration": w, "cpu": w}, `window "cpu": no comparison has that name`},
		"a bad count": {map[string]Window{"request-success-rate": {Canary: Sample{Counts: Counts{-1, 0}}}, "request-duration": w},
			"comparison request-success-rate: canary counts -1 requests"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, err := Step(seedConfig(), State{}, tc.windows); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Step = %v, want an error containing %q", err, tc.err)
			}
		})
	}
	bad := seedConfig()
	bad.Confidence = 2
	if _, _, err := Step(bad, State{}, both(w)); err == nil || !strings.Contains(err.Error(), "judge configuration: confidence 2") {
		t.Fatalf("Step with a bad configuration = %v, want it named", err)
	}
}

func TestStepLeavesTheGivenStateAlone(t *testing.T) {
	cfg := seedConfig()
	st, _ := steps(t, cfg, State{}, 3, both(window(1000, 1, 9, 100)))
	before, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	steps(t, cfg, st, 2, both(window(1000, 1, 9, 150)))
	after, _ := json.Marshal(st)
	if string(before) != string(after) {
		t.Fatalf("Step changed the state it was given:\n%s\n%s", before, after)
	}
}

func TestAChangedMarginRestartsThatComparisonsEvidence(t *testing.T) {
	cfg := seedConfig()
	st, _ := steps(t, cfg, State{}, 4, both(window(1000, 1, 9, 100)))
	cfg.Comparisons[1].AllowedDegradation.Value = 20
	st, _ = steps(t, cfg, st, 1, both(window(1000, 1, 9, 100)))
	if got := st.Comparisons[0].ErrorRate.Canary.Requests; got != 500 {
		t.Errorf("error-rate evidence holds %v canary requests, want the 500 of all five looks", got)
	}
	if got := st.Comparisons[1].Latency.Canary; got == nil || math.Abs(sum(got)-100) > 1e-9 {
		t.Errorf("latency evidence holds %v canary requests, want the 100 of the look since the margin changed", sum(got))
	}
}

func sum(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s
}

// The state and decision go into a canary's status: they must encode as
// JSON (no NaN or infinity) and come back the same.
func TestStateAndDecisionSurviveJSON(t *testing.T) {
	cfg := seedConfig()
	for _, w := range []Window{window(0, 0, 0, 100), window(20, 0, 0, 100), window(10000, 500, 9, 300)} {
		st, d := steps(t, cfg, State{}, 2, both(w))
		data, err := json.Marshal(struct {
			State    State
			Decision Decision
		}{st, d})
		if err != nil {
			t.Fatalf("encoding after %v: %v", w.Canary.Counts, err)
		}
		var back struct {
			State    State
			Decision Decision
		}
		if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back.State, st) {
			t.Fatalf("state did not come back the same: %v\n%s", err, data)
		}
	}
}

func TestSummaryExplainsEachComparison(t *testing.T) {
	_, d := steps(t, seedConfig(), State{}, 3, both(window(1000, 50, 1, 300)))
	s := d.Summary()
	for _, want := range []string{"Fail: request-success-rate: error rate canary 50.000% vs primary 0.111%", "request-duration: p99 canary", "allowed ×1.100"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary %q does not contain %q", s, want)
		}
	}
}

// Whatever counts a metrics backend returns, Step either refuses them or
// returns numbers a status can carry.
func FuzzStep(f *testing.F) {
	f.Add(100.0, 1.0, 1900.0, 2.0, 10.0, 50.0, 30.0, 10.0, 200.0, 900.0, 700.0, 100.0, 3)
	f.Add(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1)
	f.Add(1e12, 1e12, 1e-300, 0.0, 1e12, 0.0, 0.0, 1e12, 0.0, 0.0, 0.0, 5e-324, 7)
	f.Fuzz(func(t *testing.T, cr, ce, pr, pe, c0, c1, c2, c3, p0, p1, p2, p3 float64, looks int) {
		bounds := []float64{10, 100, 1000}
		w := Window{
			Canary:  Sample{Counts: Counts{cr, ce}, Latency: Histogram{Bounds: bounds, Counts: []float64{c0, c1, c2, c3}}},
			Primary: Sample{Counts: Counts{pr, pe}, Latency: Histogram{Bounds: bounds, Counts: []float64{p0, p1, p2, p3}}},
		}
		cfg := seedConfig()
		var st State
		for range 1 + looks%5 {
			next, d, err := Step(cfg, st, both(w))
			if err != nil {
				return
			}
			if _, err := json.Marshal(struct {
				State    State
				Decision Decision
			}{next, d}); err != nil {
				t.Fatalf("state or decision cannot be stored: %v: %s", err, d.Summary())
			}
			st = next
		}
	})
}
