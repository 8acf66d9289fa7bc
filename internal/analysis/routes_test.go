package analysis

import (
	"testing"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

func TestDesiredWeightsKeepTrafficOffACanaryThatIsNotUnderAnalysis(t *testing.T) {
	ab := newCanary(withAnalysis(func(a *flaggerv1.CanaryAnalysis) {
		a.StepWeight, a.Iterations = 0, 5
		a.Match = []flaggerv1.HTTPMatchRequest{{Headers: map[string]flaggerv1.StringMatch{"x-canary": {Exact: "1"}}}}
	}))
	bg := newCanary(withAnalysis(func(a *flaggerv1.CanaryAnalysis) { a.StepWeight, a.Iterations = 0, 5 }))
	cases := map[string]struct {
		canary *flaggerv1.Canary
		phase  flaggerv1.CanaryPhase
		weight int // status.canaryWeight
		want   Weights
	}{
		"progressing canary at 15":                            {newCanary(), flaggerv1.CanaryPhaseProgressing, 15, Weights{Primary: 85, Canary: 15}},
		"waiting for promotion at 50":                         {newCanary(), flaggerv1.CanaryPhaseWaitingPromotion, 50, Weights{Primary: 50, Canary: 50}},
		"promoting keeps the weight":                          {newCanary(), flaggerv1.CanaryPhasePromoting, 50, Weights{Primary: 50, Canary: 50}},
		"finalising routes to primary":                        {newCanary(), flaggerv1.CanaryPhaseFinalising, 50, Weights{Primary: 100, Canary: 0}},
		"failed never keeps traffic":                          {newCanary(), flaggerv1.CanaryPhaseFailed, 30, Weights{Primary: 100, Canary: 0}},
		"waiting keeps traffic on primary":                    {newCanary(), flaggerv1.CanaryPhaseWaiting, 0, Weights{Primary: 100, Canary: 0}},
		"A/B sends matched requests to the canary":            {ab, flaggerv1.CanaryPhaseProgressing, 0, Weights{Primary: 0, Canary: 100}},
		"blue/green keeps traffic on the primary":             {bg, flaggerv1.CanaryPhaseProgressing, 0, Weights{Primary: 100, Canary: 0}},
		"mirrored blue/green copies requests to the canary":   {mirrored(bg), flaggerv1.CanaryPhaseProgressing, 0, Weights{Primary: 100, Mirrored: true}},
		"a mirrored canary is mirrored before its first step": {mirrored(newCanary()), flaggerv1.CanaryPhaseProgressing, 0, Weights{Primary: 100, Mirrored: true}},
		"a mirrored canary with weight is not mirrored":       {mirrored(newCanary()), flaggerv1.CanaryPhaseProgressing, 5, Weights{Primary: 95, Canary: 5}},
		"a mirrored canary that failed is not mirrored":       {mirrored(newCanary()), flaggerv1.CanaryPhaseFailed, 0, Weights{Primary: 100}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := flaggerv1.CanaryStatus{Phase: tc.phase, CanaryWeight: tc.weight}
			if got := DesiredWeights(tc.canary, s); got != tc.want {
				t.Errorf("DesiredWeights = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// mirrored sets analysis.mirror on a copy of c.
func mirrored(c *flaggerv1.Canary) *flaggerv1.Canary {
	c = c.DeepCopy()
	c.Spec.Analysis.Mirror = true
	return c
}

func TestWeightSequences(t *testing.T) {
	cases := map[string]struct {
		analysis flaggerv1.CanaryAnalysis
		v1alpha3 bool // spec.canaryAnalysis instead of spec.analysis
		want     []int
	}{
		"the seed: stepWeight 5 to the v1alpha3 default of 50": {
			analysis: flaggerv1.CanaryAnalysis{StepWeight: 5}, v1alpha3: true,
			want: []int{5, 10, 15, 20, 25, 30, 35, 40, 45, 50},
		},
		"v1beta1 defaults maxWeight to 100": {
			analysis: flaggerv1.CanaryAnalysis{StepWeight: 25}, want: []int{25, 50, 75, 100},
		},
		"maxWeight not a multiple of stepWeight": {
			analysis: flaggerv1.CanaryAnalysis{StepWeight: 20, MaxWeight: 50}, want: []int{20, 40, 50},
		},
		"stepWeights": {
			analysis: flaggerv1.CanaryAnalysis{StepWeights: []int{1, 2, 10, 80}}, want: []int{1, 2, 10, 80},
		},
		"stepWeights capped by maxWeight": {
			analysis: flaggerv1.CanaryAnalysis{StepWeights: []int{10, 30, 60}, MaxWeight: 40}, want: []int{10, 30, 40},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := newCanary()
			a := tc.analysis
			c.Spec.Analysis = &a
			if tc.v1alpha3 {
				c.Spec.Analysis, c.Spec.CanaryAnalysis = nil, &a
			}
			var got []int
			for w := 0; w < c.GetMaxWeight() && len(got) < 200; {
				w = NextWeight(c, w)
				got = append(got, w)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("sequence %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("sequence %v, want %v", got, tc.want)
				}
			}
		})
	}
}
