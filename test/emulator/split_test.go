package emulator

import "testing"

func TestSplitterFollowsTheWeights(t *testing.T) {
	tests := map[string]struct {
		// primary and canary are the route's weights.
		primary, canary int64
	}{
		"the first step":         {95, 5},
		"half and half":          {50, 50},
		"all on the primary":     {100, 0},
		"all on the canary":      {0, 100},
		"weights not summing up": {7, 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := newSplitter()
			targets := []target{{service: "podinfo-primary", weight: tc.primary}, {service: "podinfo-canary", weight: tc.canary}}
			total := tc.primary + tc.canary
			picks := make([]int, 0, 4*total)
			for range 4 * total {
				picks = append(picks, s.pick("route", targets))
			}
			// Any run of n requests carries the canary's share to within
			// one request.
			for _, n := range []int64{total, 20, 40} {
				for start := 0; start+int(n) <= len(picks); start++ {
					got := int64(0)
					for _, p := range picks[start : start+int(n)] {
						got += int64(p)
					}
					want := float64(n*tc.canary) / float64(total)
					if d := float64(got) - want; d > 1 || d < -1 {
						t.Fatalf("requests %d to %d: %d on the canary, want %.1f", start, start+int(n), got, want)
					}
				}
			}
		})
	}
}

func TestSplitterWithoutWeightPicksNothing(t *testing.T) {
	if i := newSplitter().pick("route", []target{{weight: 0}, {weight: 0}}); i != -1 {
		t.Errorf("pick = %d, want -1", i)
	}
}
