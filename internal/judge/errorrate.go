package judge

import (
	"fmt"
	"math"
)

// Counts are one version's requests and failed requests over a window.
// They are floats because a metrics backend's increase() extrapolates.
type Counts struct {
	Requests float64 `json:"requests"`
	Errors   float64 `json:"errors"`
}

func (c Counts) rate() float64 {
	if c.Requests == 0 {
		return 0
	}
	return c.Errors / c.Requests
}

// checked returns the counts with errors capped at requests, or an error
// when they are not counts. Rounding by the metrics backend can make
// errors exceed requests by a little; more than 1% (and 1 request) is a
// wrong query.
func (c Counts) checked(who string) (Counts, error) {
	if !finiteNonNegative(c.Requests) || !finiteNonNegative(c.Errors) || c.Requests > maxCount {
		return c, fmt.Errorf("%s counts %v requests, %v errors: must be finite, non-negative and at most %g", who, c.Requests, c.Errors, maxCount)
	}
	if c.Errors > c.Requests*1.01+1 {
		return c, fmt.Errorf("%s counts %v errors among %v requests: more errors than requests", who, c.Errors, c.Requests)
	}
	c.Errors = math.Min(c.Errors, c.Requests)
	return c, nil
}

// maxCount bounds one window's counts (a trillion requests).
const maxCount = 1e12

func finiteNonNegative(v float64) bool { return v >= 0 && !math.IsInf(v, 1) }

// ErrorRateState is the evidence of an error-rate comparison.
//
// Each look is a stratum weighted by its effective size
// w = nc·np/(nc+np); the effect is Σw(pc−pp)/Σw, the difference of error
// rates over the same intervals. The variance of that sum is
// pc(1−pc)·Σw²/nc + pp(1−pp)·Σw²/np, so the two sums of squares are kept
// and the rates are estimated when testing.
type ErrorRateState struct {
	// Canary and Primary are the counts of all looks.
	Canary  Counts `json:"canary"`
	Primary Counts `json:"primary"`
	// Weight is Σw, the effective number of compared requests.
	Weight float64 `json:"weight"`
	// WeightedDifference is Σw(pc−pp).
	WeightedDifference float64 `json:"weightedDifference"`
	// CanarySquares and PrimarySquares are Σw²/nc and Σw²/np.
	CanarySquares  float64 `json:"canarySquares"`
	PrimarySquares float64 `json:"primarySquares"`
}

// observe adds one look.
func (s *ErrorRateState) observe(canary, primary Counts) error {
	canary, err := canary.checked("canary")
	if err != nil {
		return err
	}
	if primary, err = primary.checked("primary"); err != nil {
		return err
	}
	s.Canary.Requests += canary.Requests
	s.Canary.Errors += canary.Errors
	s.Primary.Requests += primary.Requests
	s.Primary.Errors += primary.Errors
	nc, np := canary.Requests, primary.Requests
	if nc == 0 || np == 0 {
		return nil
	}
	w := nc * np / (nc + np)
	s.Weight += w
	s.WeightedDifference += w * (canary.rate() - primary.rate())
	s.CanarySquares += w * w / nc
	s.PrimarySquares += w * w / np
	return nil
}

// centred is the weighted sum of differences centred under the hypothesis
// that the canary's error rate exceeds the primary's by exactly d (large
// when the canary is worse than that), and its variance under that
// hypothesis: the rates are estimated under it (Farrington and Manning),
// so a canary without errors yet is not taken for one that can have none.
// Each request moves the sum by at most 1 (w/nc and w/np are below 1).
func (s ErrorRateState) centred(d float64) evidence {
	pc, pp := restrictedRates(s.Canary, s.Primary, d)
	return evidence{
		sum:      s.WeightedDifference - d*s.Weight,
		variance: pc*(1-pc)*s.CanarySquares + pp*(1-pp)*s.PrimarySquares,
		scale:    1,
	}
}

// verdict judges the comparison at level alpha against the margin d.
func (s ErrorRateState) verdict(d, alpha float64) Verdict {
	v := Verdict{
		Kind:            ErrorRate,
		Canary:          s.Canary.rate(),
		Primary:         s.Primary.rate(),
		Allowed:         d,
		Confidence:      1 - alpha,
		CanaryRequests:  s.Canary.Requests,
		PrimaryRequests: s.Primary.Requests,
		Lower:           -1,
		Upper:           1,
	}
	if s.Weight > 0 {
		v.Effect = s.WeightedDifference / s.Weight
		// The interval holds the differences neither one-sided test rejects.
		// Both distances fall as the difference tested grows.
		aboveFail := func(t float64) float64 { e := s.centred(t); return e.sum - e.bound(alpha) }
		belowPass := func(t float64) float64 { e := s.centred(t); return e.sum + e.bound(alpha) }
		v.Lower = crossing(aboveFail, 0, -1, 1)
		v.Upper = crossing(belowPass, 0, -1, 1)
	}
	v.decide(s.centred(d), alpha)
	return v
}

// crossing is where a decreasing statistic f falls through level on
// [lo, hi], or the end of the range when it does not cross there.
func crossing(f func(float64) float64, level, lo, hi float64) float64 {
	if f(lo) <= level {
		return lo
	}
	if f(hi) >= level {
		return hi
	}
	for hi-lo > 1e-8 {
		mid := (lo + hi) / 2
		if f(mid) > level {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// restrictedRates are the maximum-likelihood error rates of canary and
// primary under the constraint pc − pp = d. The log-likelihood is concave
// in pp, so its derivative is found by bisection.
func restrictedRates(canary, primary Counts, d float64) (float64, float64) {
	lo, hi := math.Max(0, -d), math.Min(1, 1-d)
	if lo >= hi {
		return lo + d, lo
	}
	slope := func(p float64) float64 {
		return ratioTerm(canary.Errors, p+d) - ratioTerm(canary.Requests-canary.Errors, 1-p-d) +
			ratioTerm(primary.Errors, p) - ratioTerm(primary.Requests-primary.Errors, 1-p)
	}
	for hi-lo > 1e-12 {
		mid := (lo + hi) / 2
		if slope(mid) > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	p := (lo + hi) / 2
	return p + d, p
}

// ratioTerm is k/p with 0/0 taken as 0: a term without observations does
// not pull the estimate.
func ratioTerm(k, p float64) float64 {
	if k == 0 {
		return 0
	}
	return k / p
}
