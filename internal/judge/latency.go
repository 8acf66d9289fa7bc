package judge

import (
	"fmt"
	"math"
)

// The latency comparison tests ratios on a grid around the allowed one:
// gridRatio(k) = allowed·gridStep^(k−gridBelow), from about a quarter of
// the allowed ratio to nine times it, so that the interval of plausible
// ratios can be read off the evidence of all looks. The allowed ratio
// itself is on the grid: the decision needs no interpolation.
const (
	gridStep  = 1.05
	gridBelow = 30
	gridAbove = 45
	gridSize  = gridBelow + gridAbove + 1
)

func gridRatio(allowed, k float64) float64 {
	return allowed * math.Pow(gridStep, k-gridBelow)
}

// LatencyState is the evidence of a latency comparison.
//
// The statistic is rank-based: θ(r) is the probability that a canary
// request is slower than r times a primary request, counting requests in
// the same bucket as ties. A canary exactly r times as slow as the primary
// has θ(r) = ½. Bucketed data says nothing about latencies within a
// bucket, so for r ≠ 1 the logarithm of a latency is taken as uniform
// between the logarithms of its bucket's bounds (latencies spread over
// orders of magnitude; linear interpolation, as histogram_quantile does,
// shrinks slowdowns in wide buckets), the first bucket as wide, in that
// scale, as the second. Each look is a stratum weighted like an error-rate
// look, and Σw·θ̂(r) is kept for every grid ratio.
type LatencyState struct {
	// Bounds are the histograms' bucket bounds.
	Bounds []float64 `json:"bounds"`
	// Canary and Primary are the bucket counts of all looks.
	Canary  []float64 `json:"canary"`
	Primary []float64 `json:"primary"`
	// Weight, CanarySquares and PrimarySquares are Σw, Σw²/nc and Σw²/np.
	Weight         float64 `json:"weight"`
	CanarySquares  float64 `json:"canarySquares"`
	PrimarySquares float64 `json:"primarySquares"`
	// RankSums[k] is Σw·θ̂ at the grid's k-th ratio.
	RankSums []float64 `json:"rankSums"`
}

// observe adds one look; allowed is the allowed latency ratio. A version
// without any bucket (its histogram query returned no series: no requests
// in the window) counts as no requests in the other's buckets.
func (s *LatencyState) observe(canary, primary Histogram, allowed float64) error {
	switch {
	case canary.empty() && primary.empty():
		return nil
	case canary.empty():
		canary = primary.zeroed()
	case primary.empty():
		primary = canary.zeroed()
	}
	if err := canary.validate(); err != nil {
		return fmt.Errorf("canary: %w", err)
	}
	if err := primary.validate(); err != nil {
		return fmt.Errorf("primary: %w", err)
	}
	if len(canary.Bounds) < 2 || canary.Bounds[0] <= 0 {
		return fmt.Errorf("latency histogram bounds %v: want at least two, all above zero", canary.Bounds)
	}
	if s.Bounds == nil {
		s.Bounds = append([]float64(nil), canary.Bounds...)
		s.Canary = make([]float64, len(canary.Counts))
		s.Primary = make([]float64, len(canary.Counts))
		s.RankSums = make([]float64, gridSize)
	}
	if !sameBounds(s.Bounds, canary.Bounds) || !sameBounds(s.Bounds, primary.Bounds) {
		return fmt.Errorf("histogram bounds canary %v, primary %v: both must be %v, as in earlier looks", canary.Bounds, primary.Bounds, s.Bounds)
	}
	for i := range s.Canary {
		s.Canary[i] += canary.Counts[i]
		s.Primary[i] += primary.Counts[i]
	}
	nc, np := canary.total(), primary.total()
	if nc == 0 || np == 0 {
		return nil
	}
	w := nc * np / (nc + np)
	s.Weight += w
	s.CanarySquares += w * w / nc
	s.PrimarySquares += w * w / np
	ranges := logRanges(s.Bounds)
	for k := range s.RankSums {
		s.RankSums[k] += w * slowerShare(ranges, canary.Counts, primary.Counts, math.Log(gridRatio(allowed, float64(k))))
	}
	return nil
}

// logRange is the range of a bucket's latencies in log scale; the overflow
// bucket, whose latencies are only known to exceed the last bound, stands
// at that bound.
type logRange struct{ lo, hi float64 }

func logRanges(bounds []float64) []logRange {
	ranges := make([]logRange, len(bounds)+1)
	for i, b := range bounds {
		ranges[i].hi = math.Log(b)
		if i > 0 {
			ranges[i].lo = ranges[i-1].hi
		}
	}
	ranges[0].lo = 2*ranges[0].hi - ranges[1].hi
	last := ranges[len(bounds)-1].hi
	ranges[len(bounds)] = logRange{last, last}
	return ranges
}

// slowerShare is θ̂(r) for one look, with logRatio = ln r: the share of
// (canary, primary) request pairs in which the canary's request is slower
// than r times the primary's.
func slowerShare(ranges []logRange, canary, primary []float64, logRatio float64) float64 {
	var sum, nc, np float64
	for _, pj := range primary {
		np += pj
	}
	for i, ci := range canary {
		if ci == 0 {
			continue
		}
		nc += ci
		for j, pj := range primary {
			if pj == 0 {
				continue
			}
			sum += ci * pj * probGreater(ranges[i].lo, ranges[i].hi, ranges[j].lo+logRatio, ranges[j].hi+logRatio)
		}
	}
	return sum / (nc * np)
}

// centred is the evidence for "the canary is r times as slow as the
// primary" at the grid's k-th ratio: Σw·θ̂ centred at the value it would
// have if that were true (large when the canary is slower), and its
// variance then. Both are worked out from the primary's histogram of all
// looks (the larger sample): the canary's buckets are then the primary's
// latencies scaled by r. The variance is the two samples' placement
// variances (the Hájek projection of the two-sample rank statistic)
// weighted by Σw²/nc and Σw²/np. In that projection one request moves the
// sum by its placement less the centre, at most max(centre, 1−centre).
func (s LatencyState) centred(k int, allowed float64) evidence {
	logRatio := math.Log(gridRatio(allowed, float64(k)))
	ranges := logRanges(s.Bounds)
	primary := normalize(s.Primary)
	canary := scaledPrimary(ranges, primary, logRatio)
	canaryPlacement := make([]float64, len(primary))
	primaryPlacement := make([]float64, len(primary))
	for i, q := range canary {
		if q == 0 {
			continue
		}
		for j, p := range primary {
			if p == 0 {
				continue
			}
			greater := probGreater(ranges[i].lo, ranges[i].hi, ranges[j].lo+logRatio, ranges[j].hi+logRatio)
			canaryPlacement[i] += p * greater
			primaryPlacement[j] += q * greater
		}
	}
	var centre float64
	for i, q := range canary {
		centre += q * canaryPlacement[i]
	}
	canaryVar := weightedSquares(canary, canaryPlacement, centre)
	primaryVar := weightedSquares(primary, primaryPlacement, centre)
	return evidence{
		sum:      s.RankSums[k] - centre*s.Weight,
		variance: canaryVar*s.CanarySquares + primaryVar*s.PrimarySquares,
		scale:    math.Max(centre, 1-centre),
	}
}

// scaledPrimary is the share of each bucket the canary would have if its
// latencies were the primary's times r (logRatio = ln r), with the
// primary's latencies spread within their buckets as the statistic takes
// them.
func scaledPrimary(ranges []logRange, primary []float64, logRatio float64) []float64 {
	below := func(t float64) float64 { // share of primary log latencies at most t
		var sum float64
		for j, p := range primary {
			switch lo, hi := ranges[j].lo, ranges[j].hi; {
			case t >= hi:
				sum += p
			case t > lo:
				sum += p * (t - lo) / (hi - lo)
			}
		}
		return sum
	}
	last := len(ranges) - 1
	shares := make([]float64, last+1)
	prev := 0.0
	for i := 0; i < last; i++ {
		cur := below(ranges[i].hi - logRatio)
		shares[i] = cur - prev
		prev = cur
	}
	shares[last] = math.Max(0, 1-prev)
	return shares
}

func normalize(counts []float64) []float64 {
	var total float64
	for _, c := range counts {
		total += c
	}
	shares := make([]float64, len(counts))
	if total == 0 {
		return shares
	}
	for i, c := range counts {
		shares[i] = c / total
	}
	return shares
}

func weightedSquares(shares, values []float64, centre float64) float64 {
	var sum float64
	for i, w := range shares {
		d := values[i] - centre
		sum += w * d * d
	}
	return sum
}

// verdict judges the comparison at level alpha against the allowed ratio.
func (s LatencyState) verdict(allowed, alpha float64) Verdict {
	v := Verdict{
		Kind:       Latency,
		Allowed:    allowed,
		Confidence: 1 - alpha,
		Effect:     1,
		Lower:      gridRatio(allowed, 0),
		Upper:      gridRatio(allowed, gridSize-1),
	}
	if s.Bounds != nil {
		canary, primary := Histogram{Bounds: s.Bounds, Counts: s.Canary}, Histogram{Bounds: s.Bounds, Counts: s.Primary}
		v.CanaryRequests, v.PrimaryRequests = canary.total(), primary.total()
		v.Canary, v.Primary = p99(canary), p99(primary)
	}
	if s.Weight == 0 {
		v.decide(evidence{scale: 1}, alpha)
		return v
	}
	grid := make(map[int]evidence)
	at := func(k int) evidence {
		if _, ok := grid[k]; !ok {
			grid[k] = s.centred(k, allowed)
		}
		return grid[k]
	}
	// The interval holds the ratios neither one-sided test rejects.
	v.Effect = gridRatio(allowed, gridCrossing(func(k int) float64 { return at(k).sum }, 0))
	v.Lower = gridRatio(allowed, gridCrossing(func(k int) float64 { e := at(k); return e.sum - e.bound(alpha) }, 0))
	v.Upper = gridRatio(allowed, gridCrossing(func(k int) float64 { e := at(k); return e.sum + e.bound(alpha) }, 0))
	v.decide(at(gridBelow), alpha)
	return v
}

// p99 is the 99th percentile for people to read; 0 without requests.
func p99(h Histogram) float64 {
	if q := Quantile(0.99, h); !math.IsNaN(q) {
		return q
	}
	return 0
}

// gridCrossing is the fractional grid index at which a statistic that
// decreases along the grid falls through level, interpolated linearly
// between the two grid ratios around it; the grid's end when it does not
// cross.
func gridCrossing(z func(int) float64, level float64) float64 {
	lo, hi := 0, gridSize-1
	if z(lo) <= level {
		return float64(lo)
	}
	if z(hi) >= level {
		return float64(hi)
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if z(mid) > level {
			lo = mid
		} else {
			hi = mid
		}
	}
	zl, zh := z(lo), z(hi)
	if math.IsInf(zl, 0) || math.IsInf(zh, 0) {
		return float64(lo) + 0.5
	}
	return float64(lo) + (zl-level)/(zl-zh)
}
