package judgesim

import (
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// The small study: fewer releases than docs/judge.md's table, the same
// seed and settings. Each claim is tested with a statistical margin, so
// that another seed would pass too.
func TestStudy(t *testing.T) {
	s := SeedSettings()
	s.Releases = 200
	healthy := Effect{Name: "none", Slowdown: 1}
	allowedErrors := Effect{Name: "+0.5pp errors", ErrorIncrease: 0.005, Slowdown: 1}
	allowedLatency := Effect{Name: "+10% latency", Slowdown: 1.1}
	slower := Effect{Name: "+20% latency", Slowdown: 1.2}
	twiceAsSlow := Effect{Name: "+100% latency", Slowdown: 2}
	scenarios := []Scenario{
		{1, healthy}, {10, healthy}, {100, healthy},
		{10, allowedErrors}, {100, allowedLatency},
		{100, slower}, {10, twiceAsSlow}, {100, twiceAsSlow},
	}
	results, err := Run(s, scenarios)
	if err != nil {
		t.Fatal(err)
	}
	level := 1 - s.Judge.Confidence
	for _, r := range results[:5] {
		t.Run("the judge rolls back at most 1% of releases within the allowed degradation at "+r.Effect.Name+" and "+rate(r), func(t *testing.T) {
			// The largest count a 1% rate gives in 999 of 1000 studies.
			limit := binomialQuantile(r.Judge.Releases, level, 0.999)
			if float64(r.Judge.RolledBack) > limit {
				t.Fatalf("the judge rolled back %d of %d releases, more than the %v a rate of %v allows", r.Judge.RolledBack, r.Judge.Releases, limit, level)
			}
		})
	}
	for _, r := range results[:2] {
		t.Run("the judge rolls back fewer healthy releases than fixed thresholds at "+rate(r), func(t *testing.T) {
			if p := moreOftenP(r.Thresholds, r.Judge); p > 0.001 {
				t.Fatalf("fixed thresholds rolled back %d and the judge %d of %d healthy releases: p = %.2g, want a difference significant at 0.001",
					r.Thresholds.RolledBack, r.Judge.RolledBack, r.Judge.Releases, p)
			}
		})
	}
	t.Run("the judge catches a 20% slowdown at 100 req/s that fixed thresholds miss", func(t *testing.T) {
		r := results[5]
		if p := moreOftenP(r.Judge, r.Thresholds); p > 0.001 {
			t.Fatalf("the judge rolled back %d and fixed thresholds %d of %d slower canaries: p = %.2g, want the judge significantly more often",
				r.Judge.RolledBack, r.Thresholds.RolledBack, r.Judge.Releases, p)
		}
	})
	for _, r := range results[6:] {
		t.Run("the judge rolls back nearly every canary twice as slow at "+rate(r), func(t *testing.T) {
			// A one-sided 99.9% lower bound on the detection rate.
			if lower := wilsonLower(r.Judge.RolledBack, r.Judge.Releases, 3.09); lower < 0.9 {
				t.Fatalf("the judge rolled back %d of %d canaries twice as slow: lower bound %.3f, want above 0.9", r.Judge.RolledBack, r.Judge.Releases, lower)
			}
		})
	}
}

func rate(r Result) string { return fmt.Sprintf("%g req/s", r.Rate) }

// binomialQuantile is the smallest k with P(X <= k) >= q for X binomial.
func binomialQuantile(n int, p, q float64) float64 {
	b := distuv.Binomial{N: float64(n), P: p}
	k := 0.0
	for b.CDF(k) < q {
		k++
	}
	return k
}

// moreOftenP is the one-sided p-value of a pooled two-proportion z test
// that a rolls back more often than b.
func moreOftenP(a, b Tally) float64 {
	pa, pb := a.Rate(), b.Rate()
	pooled := float64(a.RolledBack+b.RolledBack) / float64(a.Releases+b.Releases)
	se := math.Sqrt(pooled * (1 - pooled) * (1/float64(a.Releases) + 1/float64(b.Releases)))
	if se == 0 {
		return 1
	}
	return distuv.UnitNormal.Survival((pa - pb) / se)
}

// wilsonLower is the Wilson score interval's lower end for k of n at z.
func wilsonLower(k, n int, z float64) float64 {
	p, nf := float64(k)/float64(n), float64(n)
	centre := p + z*z/(2*nf)
	spread := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf))
	return (centre - spread) / (1 + z*z/nf)
}
