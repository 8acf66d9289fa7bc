package judge

import (
	"math"
	"strings"
	"testing"
)

// looks are identical error-rate windows: canary and primary counts.
type looks struct {
	n               int
	canary, primary Counts
}

func errorEvidence(t *testing.T, all ...looks) ErrorRateState {
	t.Helper()
	var s ErrorRateState
	for _, l := range all {
		for range l.n {
			if err := s.observe(l.canary, l.primary); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s
}

func TestErrorRateVerdict(t *testing.T) {
	const alpha = 0.005
	tests := map[string]struct {
		looks  []looks // the windows observed
		margin float64 // allowed increase of the error rate (a fraction)
		want   Outcome
		effect float64 // the expected difference of error rates
	}{
		"a canary as good as the primary passes with enough requests": {
			looks: []looks{{n: 100, canary: Counts{500, 0.5}, primary: Counts{5000, 5}}}, margin: 0.005, want: Pass, effect: 0,
		},
		"a canary far worse than the primary fails": {
			looks: []looks{{n: 20, canary: Counts{50, 5}, primary: Counts{950, 1}}}, margin: 0.005, want: Fail, effect: 0.1 - 1.0/950,
		},
		"a canary as good as the primary is inconclusive with few requests": {
			looks: []looks{{n: 10, canary: Counts{5, 0}, primary: Counts{95, 0}}}, margin: 0.005, want: Inconclusive, effect: 0,
		},
		"a few canary errors among few requests are inconclusive": {
			looks: []looks{{n: 1, canary: Counts{50, 1}, primary: Counts{950, 1}}}, margin: 0.005, want: Inconclusive, effect: 0.02 - 1.0/950,
		},
		"a canary within a generous margin passes although worse": {
			looks: []looks{{n: 50, canary: Counts{400, 8}, primary: Counts{4000, 4}}}, margin: 0.05, want: Pass, effect: 0.02 - 0.001,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := errorEvidence(t, tc.looks...)
			v := s.verdict(tc.margin, alpha)
			if v.Outcome != tc.want {
				t.Fatalf("outcome %s, want %s: %v", v.Outcome, tc.want, v)
			}
			if math.Abs(v.Effect-tc.effect) > 1e-9 {
				t.Errorf("effect %v, want %v", v.Effect, tc.effect)
			}
			if !(v.Lower <= v.Effect && v.Effect <= v.Upper) {
				t.Errorf("interval [%v, %v] does not hold the estimate %v", v.Lower, v.Upper, v.Effect)
			}
			// The interval and the outcome say the same thing.
			switch v.Outcome {
			case Pass:
				if v.Upper >= tc.margin {
					t.Errorf("passed with the interval's upper end %v at or above the margin %v", v.Upper, tc.margin)
				}
			case Fail:
				if v.Lower <= tc.margin {
					t.Errorf("failed with the interval's lower end %v at or below the margin %v", v.Lower, tc.margin)
				}
			case Inconclusive:
				if !(v.Lower < tc.margin && tc.margin < v.Upper) || v.MoreRequests <= 0 {
					t.Errorf("inconclusive with the interval [%v, %v] around the margin %v and %v more requests", v.Lower, v.Upper, tc.margin, v.MoreRequests)
				}
			}
		})
	}
}

// With as many more requests as an inconclusive verdict asks for, and the
// same error rates, the comparison decides.
func TestMoreRequestsAreEnoughToDecide(t *testing.T) {
	first := looks{n: 10, canary: Counts{10, 0}, primary: Counts{190, 0.19}}
	v := errorEvidence(t, first).verdict(0.005, 0.005)
	if v.Outcome != Inconclusive || v.MoreRequests <= 0 {
		t.Fatalf("verdict %v, want inconclusive asking for more requests", v)
	}
	looksNeeded := int(math.Ceil(v.MoreRequests / 10))
	more := errorEvidence(t, first, looks{n: looksNeeded, canary: first.canary, primary: first.primary})
	if got := more.verdict(0.005, 0.005); got.Outcome != Pass {
		t.Fatalf("after %v more canary requests: %v, want Pass", v.MoreRequests, got)
	}
	fewer := errorEvidence(t, first, looks{n: looksNeeded / 2, canary: first.canary, primary: first.primary})
	if got := fewer.verdict(0.005, 0.005); got.Outcome != Inconclusive {
		t.Fatalf("after half the %v more canary requests: %v, want still Inconclusive", v.MoreRequests, got)
	}
}

// An outage of a shared dependency hits both versions late in a release,
// when the canary's share of traffic is large. Pooled over the release,
// the canary's error rate looks far worse than the primary's; compared
// over the same intervals, the canary is as good as the primary.
func TestAnOutageThatHitsBothVersionsIsNotTakenForACanaryFault(t *testing.T) {
	var s ErrorRateState
	for weight := 5.0; weight <= 50; weight += 5 {
		for range 20 {
			if err := s.observe(Counts{10 * weight, 0.001 * 10 * weight}, Counts{10 * (100 - weight), 0.001 * 10 * (100 - weight)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 20 { // the outage: 20% errors on both at weight 50
		if err := s.observe(Counts{500, 100}, Counts{500, 100}); err != nil {
			t.Fatal(err)
		}
	}
	if pooled := s.Canary.rate() - s.Primary.rate(); pooled < 0.01 {
		t.Fatalf("pooled difference %v: the scenario should make the canary look worse by more than 1pp, twice the margin", pooled)
	}
	v := s.verdict(0.005, 0.005)
	if v.Outcome == Fail || math.Abs(v.Effect) > 1e-9 {
		t.Fatalf("verdict %v, want no failure and no difference over the same intervals", v)
	}
}

func TestRestrictedRatesMaximiseTheLikelihood(t *testing.T) {
	tests := map[string]struct {
		canary, primary Counts
		d               float64
	}{
		"no errors at all, positive margin": {Counts{100, 0}, Counts{2000, 0}, 0.005},
		"errors on both, no margin":         {Counts{100, 3}, Counts{2000, 10}, 0},
		"canary worse than the margin":      {Counts{100, 20}, Counts{2000, 10}, 0.05},
		"a negative difference":             {Counts{100, 0}, Counts{2000, 100}, -0.03},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			logLik := func(pp float64) float64 {
				pc := pp + tc.d
				return xlogy(tc.canary.Errors, pc) + xlogy(tc.canary.Requests-tc.canary.Errors, 1-pc) +
					xlogy(tc.primary.Errors, pp) + xlogy(tc.primary.Requests-tc.primary.Errors, 1-pp)
			}
			pc, pp := restrictedRates(tc.canary, tc.primary, tc.d)
			if math.Abs(pc-pp-tc.d) > 1e-12 {
				t.Fatalf("rates %v and %v differ by %v, want %v", pc, pp, pc-pp, tc.d)
			}
			best := logLik(pp)
			for x := math.Max(0, -tc.d); x <= math.Min(1, 1-tc.d); x += 1e-4 {
				if l := logLik(x); l > best+1e-9 {
					t.Fatalf("likelihood at pp=%v is %v, above %v at the returned %v", x, l, best, pp)
				}
			}
		})
	}
}

func xlogy(x, y float64) float64 {
	if x == 0 {
		return 0
	}
	return x * math.Log(y)
}

func TestCountsThatAreNotCountsAreRefused(t *testing.T) {
	tests := map[string]struct {
		canary Counts // the canary's counts; the primary's are fine
		err    string // part of the error
	}{
		"negative requests":         {Counts{-1, 0}, "canary counts -1 requests, 0 errors: must be finite, non-negative"},
		"NaN errors":                {Counts{10, math.NaN()}, "must be finite, non-negative"},
		"infinite requests":         {Counts{math.Inf(1), 0}, "must be finite, non-negative"},
		"more errors than requests": {Counts{10, 20}, "canary counts 20 errors among 10 requests: more errors than requests"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var s ErrorRateState
			err := s.observe(tc.canary, Counts{100, 1})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("observe = %v, want an error containing %q", err, tc.err)
			}
		})
	}
	var s ErrorRateState
	if err := s.observe(Counts{10, 10.05}, Counts{100, 1}); err != nil || s.Canary.Errors != 10 {
		t.Fatalf("errors rounded a little above requests: %v, canary %v; want them capped at the requests", err, s.Canary)
	}
}
