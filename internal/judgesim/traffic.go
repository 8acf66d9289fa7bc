package judgesim

import (
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/serin-dev/serin/internal/judge"
)

// version is how one version answers requests.
type version struct {
	errorRate float64
	// cumulative[i] is the share of requests that take at most bounds[i].
	cumulative []float64
}

// newVersion models a version whose latencies are log-normal with the
// given median and shape, times slowdown.
func newVersion(errorRate, median, sigma, slowdown float64, bounds []float64) version {
	latency := distuv.LogNormal{Mu: math.Log(median * slowdown), Sigma: sigma}
	v := version{errorRate: errorRate, cumulative: make([]float64, len(bounds))}
	for i, b := range bounds {
		v.cumulative[i] = latency.CDF(b)
	}
	return v
}

// stream generates the requests of one release. Every segment (the
// traffic between two looks) draws from its own generator seeded by the
// release and the segment, so two policies that judge the same release see
// the same requests, each split by its own canary weight: a request goes
// to the canary when its routing draw falls below the weight, and a
// version's error and latency follow from the request's other two draws.
type stream struct {
	seed            uint64
	rate            float64 // requests per second
	seconds         float64 // length of a segment
	bounds          []float64
	canary, primary version
}

// segment returns what the canary and the primary served in the segment,
// with weight percent of the requests routed to the canary.
func (s stream) segment(n int, weight float64) (canary, primary judge.Sample) {
	src := rand.NewPCG(s.seed, uint64(n))
	requests := int(distuv.Poisson{Lambda: s.rate * s.seconds, Src: src}.Rand())
	rng := rand.New(src)
	canary.Latency = judge.Histogram{Bounds: s.bounds, Counts: make([]float64, len(s.bounds)+1)}
	primary.Latency = judge.Histogram{Bounds: s.bounds, Counts: make([]float64, len(s.bounds)+1)}
	for range requests {
		route, failure, latency := rng.Float64(), rng.Float64(), rng.Float64()
		sample, v := &primary, s.primary
		if route < weight/100 {
			sample, v = &canary, s.canary
		}
		sample.Counts.Requests++
		if failure < v.errorRate {
			sample.Counts.Errors++
		}
		sample.Latency.Counts[sort.SearchFloat64s(v.cumulative, latency)]++
	}
	return canary, primary
}
