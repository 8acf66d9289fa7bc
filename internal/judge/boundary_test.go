package judge

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestLogMixture(t *testing.T) {
	if got := logMixture(0, 0); math.Abs(got) > 1e-12 {
		t.Errorf("evidence before any data = exp(%v), want 1", got)
	}
	for _, v := range []float64{0.1, 1, 10, 100, 1e4} {
		prev := math.Inf(-1)
		sums := []float64{-math.Sqrt(v) / 2, 0, math.Sqrt(v), 3 * math.Sqrt(v), v}
		slices.Sort(sums)
		for _, s := range slices.Compact(sums) {
			got := logMixture(s, v)
			if math.IsNaN(got) || got <= prev {
				t.Fatalf("evidence at sum %v and variance %v = %v, want it growing with the sum (before: %v)", s, v, got, prev)
			}
			prev = got
		}
	}
	// With the same standardized sum, more data is more evidence.
	if small, large := logMixture(4*math.Sqrt(10), 10), logMixture(4*math.Sqrt(1000), 1000); large <= small {
		t.Errorf("four standard deviations: evidence %v at variance 10, %v at 1000; want more at 1000", small, large)
	}
}

// The tabulated boundary is where the evidence reaches 1/alpha.
func TestBoundaryIsWhereTheEvidenceReachesOneOverAlpha(t *testing.T) {
	for _, alpha := range []float64{0.05, 0.005} {
		for _, v := range []float64{0, 1e-5, 0.0123, 0.7, 3.3, 47, 512, 9999, 123456, 1e9} {
			b := boundary(v, alpha)
			if got := logMixture(b, math.Max(v, boundaryMinVariance)); math.Abs(got+math.Log(alpha)) > 1e-3 {
				t.Errorf("evidence at the boundary %v for variance %v = exp(%v), want 1/%v", b, v, got, alpha)
			}
			if v > 0 && logMixture(b, v) < -math.Log(alpha)-1e-3 {
				t.Errorf("the boundary %v for variance %v is below where the evidence reaches 1/%v", b, v, alpha)
			}
		}
	}
}

// The evidence keeps its promise, also for the skewed sums of rare
// errors: sums of centred increments, looked at after every one, reach
// 1/alpha no more often than alpha.
func TestEvidenceReachesOneOverAlphaAtMostAlphaOfTheTime(t *testing.T) {
	const alpha, runs, steps = 0.05, 2000, 2000
	tests := map[string]struct {
		increment func(*rand.Rand) float64 // a centred draw
		variance  float64                  // its variance
		scale     float64                  // the largest it can be
	}{
		"rare errors (one in a hundred requests)": {
			increment: func(r *rand.Rand) float64 { return bernoulli(r, 0.01) - 0.01 },
			variance:  0.01 * 0.99,
			scale:     1,
		},
		"frequent errors (one in five requests)": {
			increment: func(r *rand.Rand) float64 { return bernoulli(r, 0.2) - 0.2 },
			variance:  0.2 * 0.8,
			scale:     1,
		},
		"rank placements (uniform between -1/2 and 1/2)": {
			increment: func(r *rand.Rand) float64 { return r.Float64() - 0.5 },
			variance:  1.0 / 12,
			scale:     0.5,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			crossed := 0
			for range runs {
				sum := 0.0
				for n := 1; n <= steps; n++ {
					sum += tc.increment(rng)
					if (evidence{sum, float64(n) * tc.variance, tc.scale}).worse(alpha) {
						crossed++
						break
					}
				}
			}
			// Allow three standard errors of the estimated rate above alpha.
			limit := alpha + 3*math.Sqrt(alpha*(1-alpha)/runs)
			if rate := float64(crossed) / runs; rate > limit {
				t.Fatalf("%d of %d runs reached 1/alpha (%.3f), want at most %.3f", crossed, runs, rate, limit)
			}
		})
	}
}

func bernoulli(r *rand.Rand, p float64) float64 {
	if r.Float64() < p {
		return 1
	}
	return 0
}

// A sum that drifts by a fifth of its standard deviation per step is soon
// taken for what it is.
func TestEvidenceFindsADrift(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	found := 0
	for range 200 {
		sum := 0.0
		for n := 1; n <= 2000; n++ {
			sum += rng.Float64() - 0.5 + 0.2*math.Sqrt(1.0/12)
			if (evidence{sum, float64(n) / 12, 1}).worse(0.01) {
				found++
				break
			}
		}
	}
	if found < 190 {
		t.Fatalf("%d of 200 drifting sums were rejected, want nearly all", found)
	}
}

func TestGrowthToDecide(t *testing.T) {
	const alpha = 0.01
	if g := (evidence{0, 10, 1}).growthToDecide(alpha); !math.IsInf(g, 1) {
		t.Errorf("growth to decide a sum of zero = %v, want +Inf", g)
	}
	for _, s := range []float64{-5, 3, 8} {
		v := 10.0
		g := (evidence{s, v, 1}).growthToDecide(alpha)
		if g < 1 {
			t.Fatalf("growth to decide sum %v, variance %v = %v, want at least 1", s, v, g)
		}
		if !(evidence{math.Abs(s) * g, v * g, 1}).worse(alpha) {
			t.Errorf("sum %v, variance %v grown by %v is not rejected", s, v, g)
		}
		if g > 1 && (evidence{math.Abs(s) * g * 0.99, v * g * 0.99, 1}).worse(alpha) {
			t.Errorf("sum %v, variance %v is already rejected when grown by %v, less than %v", s, v, 0.99*g, g)
		}
	}
}
