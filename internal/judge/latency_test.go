package judge

import (
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// envoyBounds are Envoy's default latency buckets in milliseconds.
var envoyBounds = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// expectedHistogram is n requests with log-normal latencies (median in ms)
// spread over the buckets exactly as expected, without sampling noise.
func expectedHistogram(n, median, sigma float64) Histogram {
	dist := distuv.LogNormal{Mu: math.Log(median), Sigma: sigma}
	var cumulative []float64
	for _, b := range envoyBounds {
		cumulative = append(cumulative, n*dist.CDF(b))
	}
	h, err := FromCumulative(append(append([]float64(nil), envoyBounds...), math.Inf(1)), append(cumulative, n))
	if err != nil {
		panic(err)
	}
	return h
}

func latencyEvidence(t *testing.T, looks int, canary, primary Histogram, allowed float64) LatencyState {
	t.Helper()
	var s LatencyState
	for range looks {
		if err := s.observe(canary, primary, allowed); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestLatencyVerdict(t *testing.T) {
	const alpha, allowed = 0.005, 1.1
	tests := map[string]struct {
		looks           int     // identical looks observed
		canaryRequests  float64 // per look
		slowdown        float64 // the canary's true latency ratio
		want            Outcome
		effectLo, effHi float64 // where the estimated ratio must be
	}{
		"a canary as fast as the primary passes with enough requests": {looks: 30, canaryRequests: 100, slowdown: 1, want: Pass, effectLo: 0.97, effHi: 1.03},
		"a canary twice as slow fails":                                {looks: 5, canaryRequests: 50, slowdown: 2, want: Fail, effectLo: 1.8, effHi: 2.2},
		"a canary 20% slower fails with enough requests":              {looks: 30, canaryRequests: 100, slowdown: 1.2, want: Fail, effectLo: 1.15, effHi: 1.25},
		"a few requests are inconclusive":                             {looks: 2, canaryRequests: 5, slowdown: 1, want: Inconclusive, effectLo: 0.97, effHi: 1.03},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			canary := expectedHistogram(tc.canaryRequests, 100*tc.slowdown, 0.5)
			primary := expectedHistogram(9*tc.canaryRequests, 100, 0.5)
			v := latencyEvidence(t, tc.looks, canary, primary, allowed).verdict(allowed, alpha)
			if v.Outcome != tc.want {
				t.Fatalf("outcome %s, want %s: %v", v.Outcome, tc.want, v)
			}
			if v.Effect < tc.effectLo || v.Effect > tc.effHi {
				t.Errorf("estimated ratio %v, want between %v and %v", v.Effect, tc.effectLo, tc.effHi)
			}
			if !(v.Lower <= v.Effect && v.Effect <= v.Upper) {
				t.Errorf("interval [%v, %v] does not hold the estimate %v", v.Lower, v.Upper, v.Effect)
			}
			switch v.Outcome {
			case Pass:
				if v.Upper >= allowed {
					t.Errorf("passed with the interval's upper end %v at or above %v", v.Upper, allowed)
				}
			case Fail:
				if v.Lower <= allowed {
					t.Errorf("failed with the interval's lower end %v at or below %v", v.Lower, allowed)
				}
			case Inconclusive:
				if v.MoreRequests <= 0 {
					t.Errorf("inconclusive asking for %v more requests", v.MoreRequests)
				}
			}
			if want := Quantile(0.99, canary); math.Abs(v.Canary-want) > 1e-9*want {
				t.Errorf("canary p99 %v, want the histogram's %v", v.Canary, want)
			}
		})
	}
}

// Without a margin the test needs no assumption about latencies within a
// bucket: identical histograms are exactly a coin toss.
func TestIdenticalHistogramsAreACoinToss(t *testing.T) {
	h := expectedHistogram(1000, 100, 0.5)
	s := latencyEvidence(t, 1, h, h, 1)
	if got := slowerShare(logRanges(h.Bounds), h.Counts, h.Counts, 0); math.Abs(got-0.5) > 1e-12 {
		t.Fatalf("share of slower canary requests %v, want 0.5", got)
	}
	if sum := s.centred(gridBelow, 1).sum; math.Abs(sum) > 1e-9 {
		t.Fatalf("centred sum %v for identical histograms, want 0", sum)
	}
}

func TestLatencyHistogramsMustKeepTheirBuckets(t *testing.T) {
	h := expectedHistogram(100, 100, 0.5)
	other := Histogram{Bounds: []float64{100, 200}, Counts: []float64{1, 2, 3}}
	var s LatencyState
	if err := s.observe(h, h, 1.1); err != nil {
		t.Fatal(err)
	}
	if err := s.observe(other, other, 1.1); err == nil || !strings.Contains(err.Error(), "both must be [0.5 1 5") {
		t.Fatalf("observe with other buckets = %v, want an error naming the buckets of earlier looks", err)
	}
	if err := (&LatencyState{}).observe(h, other, 1.1); err == nil {
		t.Fatal("canary and primary with different buckets were accepted")
	}
}

func TestAWindowWithoutSeriesAddsNoRequestsButKeepsTheOtherVersionsBuckets(t *testing.T) {
	primary := expectedHistogram(100, 100, 0.5)
	cases := map[string]struct {
		// canary and primary are the window's histograms; empty ones are
		// what a query without series gives.
		canary, primary Histogram
		// wantPrimary is the primary's pooled requests afterwards.
		wantPrimary float64
	}{
		"both versions without series": {wantPrimary: 0},
		"the canary without series":    {primary: primary, wantPrimary: 100},
		"the primary without series":   {canary: primary, wantPrimary: 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var s LatencyState
			if err := s.observe(tc.canary, tc.primary, 1.1); err != nil {
				t.Fatal(err)
			}
			if s.Weight != 0 {
				t.Errorf("weight %v, want 0: a window without one version compares nothing", s.Weight)
			}
			if got := (Histogram{Bounds: s.Bounds, Counts: s.Primary}).total(); got != tc.wantPrimary {
				t.Errorf("pooled primary requests %v, want %v", got, tc.wantPrimary)
			}
			// A later window with both versions still fits the buckets.
			if err := s.observe(primary, primary, 1.1); err != nil {
				t.Fatal(err)
			}
		})
	}
}
