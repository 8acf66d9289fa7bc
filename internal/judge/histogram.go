package judge

import (
	"fmt"
	"math"
	"sort"
)

// maxBuckets bounds a histogram's size.
const maxBuckets = 64

// Histogram is one version's latencies over a window: Counts[i] requests
// took at most Bounds[i] (and more than Bounds[i-1]); the last count, one
// more than there are bounds, is of the requests slower than every bound
// (Prometheus's le="+Inf" bucket).
type Histogram struct {
	// Bounds are the buckets' finite upper bounds, increasing, not negative.
	Bounds []float64 `json:"bounds"`
	// Counts are the requests per bucket, len(Bounds)+1 of them.
	Counts []float64 `json:"counts"`
}

// FromCumulative builds a histogram from Prometheus-style cumulative
// buckets: requests at most each upper bound, the last bound +Inf.
func FromCumulative(upperBounds, cumulative []float64) (Histogram, error) {
	n := len(upperBounds)
	if n != len(cumulative) || n < 2 || n > maxBuckets+1 || !math.IsInf(upperBounds[n-1], 1) {
		return Histogram{}, fmt.Errorf("histogram with %d bounds and %d counts: want as many of each, 2 to %d, the last bound +Inf", n, len(cumulative), maxBuckets+1)
	}
	h := Histogram{Bounds: append([]float64(nil), upperBounds[:n-1]...), Counts: make([]float64, n)}
	prev := 0.0
	for i, c := range cumulative {
		// Cumulative counts extrapolated by rate() can dip by rounding;
		// a bucket never holds fewer than zero requests.
		h.Counts[i] = math.Max(0, c-prev)
		prev = math.Max(prev, c)
	}
	return h, h.validate()
}

func (h Histogram) validate() error {
	if len(h.Bounds) == 0 || len(h.Bounds) > maxBuckets || len(h.Counts) != len(h.Bounds)+1 {
		return fmt.Errorf("histogram with %d bounds and %d counts: want 1 to %d bounds and one count more", len(h.Bounds), len(h.Counts), maxBuckets)
	}
	for i, b := range h.Bounds {
		if !finiteNonNegative(b) || math.IsInf(b, 0) || i > 0 && b <= h.Bounds[i-1] {
			return fmt.Errorf("histogram bound %v: bounds must be finite, non-negative and increasing", b)
		}
	}
	for _, c := range h.Counts {
		if !finiteNonNegative(c) || c > maxCount {
			return fmt.Errorf("histogram count %v: counts must be finite, non-negative and at most %g", c, maxCount)
		}
	}
	return nil
}

// empty reports a histogram without buckets: a window without series.
func (h Histogram) empty() bool { return len(h.Bounds) == 0 && len(h.Counts) == 0 }

// zeroed returns a histogram with h's buckets and no requests.
func (h Histogram) zeroed() Histogram {
	return Histogram{Bounds: h.Bounds, Counts: make([]float64, len(h.Counts))}
}

func (h Histogram) total() float64 {
	var t float64
	for _, c := range h.Counts {
		t += c
	}
	return t
}

// sameBounds reports whether two histograms have the same buckets.
func sameBounds(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Quantile is the q-quantile of the histogram as Prometheus's
// histogram_quantile computes it: linear within the bucket that holds it,
// the last finite bound when it falls in the overflow bucket, NaN without
// requests.
func Quantile(q float64, h Histogram) float64 {
	total := h.total()
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	cumulative := make([]float64, len(h.Bounds))
	sum := 0.0
	for i := range h.Bounds {
		sum += h.Counts[i]
		cumulative[i] = sum
	}
	i := sort.Search(len(cumulative), func(i int) bool { return cumulative[i] >= rank })
	if i == len(cumulative) {
		return h.Bounds[len(h.Bounds)-1]
	}
	lo, hi, below := 0.0, h.Bounds[i], 0.0
	if i > 0 {
		lo, below = h.Bounds[i-1], cumulative[i-1]
	}
	if h.Counts[i] == 0 {
		return hi
	}
	return lo + (hi-lo)*(rank-below)/h.Counts[i]
}

// probGreater is P(X > Y) for X uniform on [a, b] and Y uniform on [c, d],
// either possibly a single point; ties between points count one half.
func probGreater(a, b, c, d float64) float64 {
	if c == d {
		switch {
		case a < b:
			return math.Min(1, math.Max(0, (b-c)/(b-a)))
		case a > c:
			return 1
		case a == c:
			return 0.5
		default:
			return 0
		}
	}
	// The mean over Y of P(X > y) is the integral of X's survival function
	// over [c, d] divided by its length.
	return (survivalIntegral(a, b, d) - survivalIntegral(a, b, c)) / (d - c)
}

// survivalIntegral is the integral from 0 to t of P(X > u) for X uniform
// on [a, b] (a point when a == b), with 0 <= a.
func survivalIntegral(a, b, t float64) float64 {
	switch {
	case t <= a:
		return t
	case t >= b:
		return a + (b-a)/2
	default:
		return a + (t - a) - (t-a)*(t-a)/(2*(b-a))
	}
}
