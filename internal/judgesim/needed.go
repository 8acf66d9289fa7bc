package judgesim

import (
	"math"

	"github.com/serin-dev/serin/internal/judge"
)

// maxLooksToPass is the most inconclusive steps a judge configuration
// allows.
const maxLooksToPass = 10000

// Needed is how many canary requests a comparison takes to pass a canary
// exactly as good as the primary, with the expected counts and no noise.
type Needed struct {
	Comparison judge.Comparison
	// Requests is the canary requests at the first Pass; 0 if none came
	// within the limit.
	Requests float64
}

// RequestsToPass feeds the judge looks of 10 canary requests at the given
// weight (percent), each request answering like the healthy version on
// average, until every comparison passes or the judge's limit of 10000
// inconclusive steps (100000 canary requests).
func RequestsToPass(s Settings, weight float64) ([]Needed, error) {
	healthy := newVersion(s.ErrorRate, s.LatencyMedian, s.LatencySigma, 1, s.Bounds)
	canary, err := expectedSample(healthy, 10, s.Bounds)
	if err != nil {
		return nil, err
	}
	primary, err := expectedSample(healthy, 10*(100-weight)/weight, s.Bounds)
	if err != nil {
		return nil, err
	}
	window := judge.Window{Canary: canary, Primary: primary}
	windows := map[string]judge.Window{}
	needed := make([]Needed, len(s.Judge.Comparisons))
	for i, c := range s.Judge.Comparisons {
		windows[c.Name] = window
		needed[i].Comparison = c
	}
	cfg := s.Judge
	cfg.Inconclusive.MaxSteps = maxLooksToPass // the policy must not decide
	var st judge.State
	for looks := 1; looks <= maxLooksToPass; looks++ {
		next, d, err := judge.Step(cfg, st, windows)
		if err != nil {
			return nil, err
		}
		st = next
		done := true
		for i, v := range d.Verdicts {
			if v.Outcome == judge.Pass && needed[i].Requests == 0 {
				needed[i].Requests = v.CanaryRequests
			}
			done = done && needed[i].Requests > 0
		}
		if done {
			break
		}
	}
	return needed, nil
}

// expectedSample is n requests of a version spread as expected.
func expectedSample(v version, n float64, bounds []float64) (judge.Sample, error) {
	upper := append(append([]float64(nil), bounds...), math.Inf(1))
	cumulative := make([]float64, 0, len(upper))
	for _, c := range v.cumulative {
		cumulative = append(cumulative, n*c)
	}
	h, err := judge.FromCumulative(upper, append(cumulative, n))
	return judge.Sample{Counts: judge.Counts{Requests: n, Errors: n * v.errorRate}, Latency: h}, err
}
