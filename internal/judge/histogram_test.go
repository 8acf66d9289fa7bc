package judge

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestQuantileFollowsHistogramQuantile(t *testing.T) {
	bounds := []float64{100, 250, 500}
	tests := map[string]struct {
		counts []float64 // per bucket, the last one above 500
		q      float64
		want   float64 // what Prometheus's histogram_quantile returns
	}{
		"interpolated within the bucket holding the rank": {counts: []float64{50, 40, 10, 0}, q: 0.99, want: 250 + 250*(99-90)/10.0},
		"the first bucket starts at zero":                 {counts: []float64{100, 0, 0, 0}, q: 0.5, want: 50},
		"a rank in the overflow bucket is the last bound": {counts: []float64{90, 0, 0, 10}, q: 0.99, want: 500},
		"no requests have no quantile":                    {counts: []float64{0, 0, 0, 0}, q: 0.99, want: math.NaN()},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Quantile(tc.q, Histogram{Bounds: bounds, Counts: tc.counts})
			if got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
				t.Fatalf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

func TestFromCumulative(t *testing.T) {
	h, err := FromCumulative([]float64{100, 250, math.Inf(1)}, []float64{5, 9, 10})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{5, 4, 1}; !sameBounds(h.Counts, want) || !sameBounds(h.Bounds, []float64{100, 250}) {
		t.Fatalf("histogram %v, want bounds [100 250] and counts %v", h, want)
	}
	// rate() can make a cumulative count dip a little; no bucket goes negative.
	if h, err := FromCumulative([]float64{100, 250, math.Inf(1)}, []float64{5, 4.9, 10}); err != nil || h.Counts[1] != 0 || h.Counts[2] != 5 {
		t.Fatalf("dipping cumulative counts gave %v, %v; want counts [5 0 5]", h, err)
	}
	bad := map[string]struct {
		bounds, counts []float64
		err            string
	}{
		"no +Inf bucket":        {[]float64{100, 250}, []float64{1, 2}, "the last bound +Inf"},
		"lengths differ":        {[]float64{100, math.Inf(1)}, []float64{1, 2, 3}, "want as many of each"},
		"bounds not increasing": {[]float64{250, 100, math.Inf(1)}, []float64{1, 2, 3}, "bounds must be finite, non-negative and increasing"},
		"a NaN count":           {[]float64{100, math.Inf(1)}, []float64{math.NaN(), 2}, "counts must be finite, non-negative"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := FromCumulative(tc.bounds, tc.counts); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("FromCumulative = %v, want an error containing %q", err, tc.err)
			}
		})
	}
}

func TestProbGreater(t *testing.T) {
	tests := map[string]struct {
		a, b, c, d float64 // X uniform on [a, b], Y on [c, d]
		want       float64
	}{
		"the same range is a coin toss":        {100, 250, 100, 250, 0.5},
		"X entirely above Y":                   {250, 500, 100, 250, 1},
		"X entirely below Y":                   {100, 250, 250, 500, 0},
		"the same point is a tie":              {500, 500, 500, 500, 0.5},
		"a point in the middle of X's range":   {100, 300, 200, 200, 0.5},
		"X a point a quarter into Y's range":   {150, 150, 100, 300, 0.25},
		"Y a quarter of X's width, at its top": {0, 400, 300, 400, 1.0 / 8},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := probGreater(tc.a, tc.b, tc.c, tc.d); math.Abs(got-tc.want) > 1e-12 {
				t.Fatalf("probGreater = %v, want %v", got, tc.want)
			}
		})
	}
	// Overlapping ranges against a Monte Carlo estimate.
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 200000
	greater := 0
	for range n {
		if 100+150*rng.Float64() > 180+220*rng.Float64() {
			greater++
		}
	}
	if got, mc := probGreater(100, 250, 180, 400), float64(greater)/n; math.Abs(got-mc) > 0.005 {
		t.Fatalf("probGreater(100, 250, 180, 400) = %v, Monte Carlo %v", got, mc)
	}
}
