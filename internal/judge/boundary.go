package judge

import (
	"math"
	"sync"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mathext"
)

// mixtureScales are the variances (in the statistic's units, about the
// number of canary errors expected for an error rate) at which the
// components of the evidence's mixture are tightest. One component is
// tight only within about a decade; the equal-weight mixture over four
// decades costs a little (its boundary sits near that of a single
// component at a fifth of alpha) and needs no tuning to the traffic.
var mixtureScales = [...]float64{0.3, 3, 30, 300, 3000}

// logMixture is the logarithm of the evidence against a one-sided null
// hypothesis: a sum s centred under the hypothesis, of increments no
// larger than 1, with variance v.
//
// For such sums exp(λs − (e^λ−λ−1)v) is a supermartingale for every λ ≥ 0
// (Bennett's inequality; sub-Poisson in the terms of Howard et al. 2021,
// "Time-uniform, nonparametric, nonasymptotic confidence sequences").
// Mixing e^λ over a gamma(ρ, ρ) distribution truncated to e^λ ≥ 1 gives
//
//	e^v ρ^ρ Γ(s+v+ρ, v+ρ) / (Γ(ρ, ρ) (v+ρ)^(s+v+ρ))
//
// with Γ(a, x) the upper incomplete gamma function, and this is the
// average over mixtureScales of it. Its expectation is at most 1 at every
// look, so by Ville's inequality it reaches 1/alpha with probability at
// most alpha over all looks. Unlike a normal approximation it stays valid
// for skewed sums, such as a handful of errors among few requests.
func logMixture(s, v float64) float64 {
	var terms [len(mixtureScales)]float64
	for i, rho := range mixtureScales {
		a := s + v + rho
		if a <= 0 {
			terms[i] = math.Inf(-1)
			continue
		}
		terms[i] = v + rho*math.Log(rho) - logUpperGamma(rho, rho) + logUpperGamma(a, v+rho) - a*math.Log(v+rho)
	}
	return floats.LogSumExp(terms[:]) - math.Log(float64(len(mixtureScales)))
}

// logUpperGamma is the logarithm of the upper incomplete gamma function.
func logUpperGamma(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	return lg + math.Log(mathext.GammaIncRegComp(a, x))
}

// evidence is a sum centred under a hypothesis about the canary (positive
// when the canary is worse than the hypothesis says), its variance under
// the hypothesis, and the largest step one request moves it by (scale).
type evidence struct{ sum, variance, scale float64 }

// bound is the smallest sum the evidence rejects at level alpha: the
// boundary of the sum divided by its scale, whose steps are at most 1.
func (e evidence) bound(alpha float64) float64 {
	return e.scale * boundary(e.variance/(e.scale*e.scale), alpha)
}

// worse reports whether the canary is worse than the hypothesis says.
func (e evidence) worse(alpha float64) bool { return e.sum >= e.bound(alpha) }

// better reports whether the canary is better than the hypothesis says.
func (e evidence) better(alpha float64) bool { return -e.sum >= e.bound(alpha) }

// boundary is the smallest centred sum that the evidence rejects at level
// alpha with variance v: where logMixture reaches −ln alpha.
//
// Solving for it takes some forty evaluations of incomplete gamma
// functions, and a release's verdicts need it at many variances, so it is
// tabulated per alpha at boundaryPerDecade points per decade of v, filled
// in as needed, and interpolated linearly in log-log scale between them
// (the boundary is smooth there; the error is far below a thousandth).
// Below the table's smallest variance the boundary at that variance is
// used, which is larger: more data never lowers the bar.
func boundary(v, alpha float64) float64 {
	t := boundaryTableFor(alpha)
	if t == nil || v > boundaryMaxVariance {
		return solveBoundary(v, alpha)
	}
	x := (math.Log10(math.Max(v, boundaryMinVariance)) - math.Log10(boundaryMinVariance)) * boundaryPerDecade
	i := min(int(x), len(t.logBoundary)-2)
	lo, hi := t.at(i), t.at(i+1)
	return math.Exp(lo + (hi-lo)*(x-float64(i)))
}

const (
	boundaryMinVariance = 1e-4
	boundaryMaxVariance = 1e8
	boundaryPerDecade   = 50
	// maxBoundaryTables bounds the memory a tenant's confidences can take;
	// alphas beyond it are solved at every use.
	maxBoundaryTables = 64
)

type boundaryTable struct {
	alpha       float64
	mu          sync.Mutex
	logBoundary []float64 // NaN until computed
}

var boundaryTables = struct {
	sync.Mutex
	byAlpha map[float64]*boundaryTable
}{byAlpha: map[float64]*boundaryTable{}}

func boundaryTableFor(alpha float64) *boundaryTable {
	boundaryTables.Lock()
	defer boundaryTables.Unlock()
	t, ok := boundaryTables.byAlpha[alpha]
	if !ok && len(boundaryTables.byAlpha) < maxBoundaryTables {
		n := int(math.Round(math.Log10(boundaryMaxVariance/boundaryMinVariance)*boundaryPerDecade)) + 1
		t = &boundaryTable{alpha: alpha, logBoundary: make([]float64, n)}
		for i := range t.logBoundary {
			t.logBoundary[i] = math.NaN()
		}
		boundaryTables.byAlpha[alpha] = t
	}
	return t
}

// at is the logarithm of the boundary at the table's i-th variance.
func (t *boundaryTable) at(i int) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if math.IsNaN(t.logBoundary[i]) {
		v := boundaryMinVariance * math.Pow(10, float64(i)/boundaryPerDecade)
		t.logBoundary[i] = math.Log(solveBoundary(v, t.alpha))
	}
	return t.logBoundary[i]
}

// solveBoundary finds the boundary by bisection; the evidence grows with
// the sum.
func solveBoundary(v, alpha float64) float64 {
	target := -math.Log(alpha)
	hi := math.Max(1, math.Sqrt(v))
	for i := 0; !(logMixture(hi, v) >= target); i++ {
		if i == 200 { // the evidence never got there: nothing is rejected
			return math.Inf(1)
		}
		hi *= 2
	}
	lo := 0.0
	for hi-lo > 1e-7*hi {
		mid := (lo + hi) / 2
		if logMixture(mid, v) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// growthToDecide is by how much the data (sum and variance alike) would
// have to grow for the evidence to decide on the side its sum is, if the
// estimate stayed where it is: 1 when it decides already, +Inf when no
// growth would do (the sum is zero).
func (e evidence) growthToDecide(alpha float64) float64 {
	if e.sum == 0 {
		return math.Inf(1)
	}
	crosses := func(g float64) bool {
		grown := evidence{sum: g * math.Abs(e.sum), variance: g * e.variance, scale: e.scale}
		return grown.worse(alpha)
	}
	if crosses(1) {
		return 1
	}
	lo, hi := 1.0, 2.0
	for !crosses(hi) {
		lo, hi = hi, 2*hi
		if hi > 1e15 {
			return math.Inf(1)
		}
	}
	for hi-lo > 1e-3*hi {
		mid := (lo + hi) / 2
		if crosses(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}
