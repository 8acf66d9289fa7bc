package view

import (
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Detail is everything about one release.
type Detail struct {
	Summary `json:",inline"`
	// Target is the released workload, e.g. Deployment/podinfo.
	Target   string `json:"target"`
	Provider string `json:"provider,omitempty"`
	// Strategy is canary, blue/green or A/B.
	Strategy string `json:"strategy"`
	Interval string `json:"interval"`
	// MaxWeight caps the canary's weight (weighted canaries).
	MaxWeight int `json:"maxWeight,omitempty"`
	// Timeline is status.history, oldest first.
	Timeline []flaggerv1.HistoryRecord `json:"timeline"`
	// Series has one entry per metric: its values along the timeline and
	// its threshold.
	Series       []Series                  `json:"series"`
	LastAnalysis *flaggerv1.AnalysisRecord `json:"lastAnalysis,omitempty"`
	// Gates are the webhooks that hold or end the release.
	Gates []Hook `json:"gates"`
	// Hooks are the other webhooks.
	Hooks       []Hook                 `json:"hooks"`
	Levers      *flaggerv1.LeverStatus `json:"levers,omitempty"`
	Conditions  []metav1.Condition     `json:"conditions,omitempty"`
	Events      []Event                `json:"events"`
	Explanation Explanation            `json:"explanation"`
}

// Hook is a configured webhook. Its URL is left out: it may carry a
// credential in its query.
type Hook struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Series is one metric along the timeline.
type Series struct {
	Name string `json:"name"`
	// Threshold is the accepted range as written in the checks (">= 99").
	Threshold string `json:"threshold,omitempty"`
	// Min and Max are its bounds; nil when open.
	Min    *float64 `json:"min,omitempty"`
	Max    *float64 `json:"max,omitempty"`
	Points []Point  `json:"points"`
}

// Point is one measured value.
type Point struct {
	Time   time.Time `json:"time"`
	Weight int       `json:"weight"`
	Value  float64   `json:"value"`
	Passed bool      `json:"passed"`
}

// gateTypes are the webhook types that hold or end a release.
var gateTypes = map[flaggerv1.HookType]bool{
	flaggerv1.ConfirmRolloutHook: true, flaggerv1.ConfirmTrafficIncreaseHook: true,
	flaggerv1.ConfirmPromotionHook: true, flaggerv1.RollbackHook: true,
}

// Describe returns the detail of c; events are the cluster's events, of
// which those about c are kept.
func Describe(c *flaggerv1.Canary, events []corev1.Event) Detail {
	d := Detail{
		Summary: Summarize(c), Target: c.Spec.TargetRef.Kind + "/" + c.Spec.TargetRef.Name,
		Provider: c.Status.Provider, Strategy: strategy(c), Interval: c.GetInterval().String(),
		Timeline: c.Status.History, LastAnalysis: c.Status.LastAnalysis, Levers: c.Status.Levers,
		Conditions: c.Status.Conditions, Events: Events(c, events), Gates: []Hook{}, Hooks: []Hook{},
	}
	if d.Strategy == "canary" {
		d.MaxWeight = c.GetMaxWeight()
	}
	if d.Timeline == nil {
		d.Timeline = []flaggerv1.HistoryRecord{}
	}
	if a := c.GetAnalysis(); a != nil {
		for _, w := range a.Webhooks {
			t := w.Type
			if t == "" {
				t = flaggerv1.RolloutHook
			}
			h := Hook{Name: w.Name, Type: string(t)}
			if gateTypes[t] {
				d.Gates = append(d.Gates, h)
			} else {
				d.Hooks = append(d.Hooks, h)
			}
		}
	}
	d.Series = series(c.Status.History)
	d.Explanation = Explain(c)
	return d
}

// strategy names how the release moves traffic, as analysis.StrategyOf
// decides it.
func strategy(c *flaggerv1.Canary) string {
	a := c.GetAnalysis()
	switch {
	case a == nil || a.Iterations == 0:
		return "canary"
	case len(a.Match) > 0:
		return "A/B"
	default:
		return "blue/green"
	}
}

// series collects each metric's measured values from the history, in the
// order the metrics first appear.
func series(history []flaggerv1.HistoryRecord) []Series {
	out := []Series{}
	index := map[string]int{}
	for _, r := range history {
		for _, chk := range r.Checks {
			if chk.Kind != "metric" {
				continue
			}
			v, err := strconv.ParseFloat(chk.Value, 64)
			if err != nil {
				continue // no values, or the query failed
			}
			i, ok := index[chk.Name]
			if !ok {
				i = len(out)
				index[chk.Name] = i
				out = append(out, Series{Name: chk.Name, Points: []Point{}})
			}
			s := &out[i]
			s.Threshold = chk.Threshold
			s.Min, s.Max = ParseThreshold(chk.Threshold)
			s.Points = append(s.Points, Point{Time: r.Time.UTC(), Weight: r.CanaryWeight, Value: v, Passed: chk.Passed})
		}
	}
	return out
}

// ParseThreshold reads a threshold as checks write it: ">= 99", "<= 500"
// or "1 .. 5". Bounds it cannot read are nil.
func ParseThreshold(s string) (lo, hi *float64) {
	num := func(s string) *float64 {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil
		}
		return &v
	}
	switch {
	case strings.HasPrefix(s, ">="):
		return num(s[2:]), nil
	case strings.HasPrefix(s, "<="):
		return nil, num(s[2:])
	}
	if a, b, ok := strings.Cut(s, ".."); ok {
		return num(a), num(b)
	}
	return nil, nil
}
