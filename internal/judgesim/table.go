package judgesim

import (
	"fmt"
	"strings"
	"time"
)

// StudyScenarios are the study's cells: each traffic level with each true
// effect, and the effects at the judge's allowed degradations (where its
// rollback rate must stay at or below its error level).
func StudyScenarios(s Settings) []Scenario {
	effects := []Effect{
		{Name: "none", Slowdown: 1},
		{Name: "+1pp errors", ErrorIncrease: 0.01, Slowdown: 1},
		{Name: "+20% latency", Slowdown: 1.2},
		{Name: "+100% latency", Slowdown: 2},
	}
	for _, c := range s.Judge.Comparisons {
		m := c.AllowedDegradation
		name := fmt.Sprintf("%s %s (allowed)", m, map[string]string{ErrorsComparison: "errors", LatencyComparison: "latency"}[c.Name])
		switch c.Name {
		case ErrorsComparison:
			effects = append(effects, Effect{Name: name, ErrorIncrease: m.Value / 100, Slowdown: 1})
		case LatencyComparison:
			effects = append(effects, Effect{Name: name, Slowdown: 1 + m.Value/100})
		}
	}
	var scenarios []Scenario
	for _, rate := range []float64{1, 10, 100} {
		for _, e := range effects {
			scenarios = append(scenarios, Scenario{Rate: rate, Effect: e})
		}
	}
	return scenarios
}

// Table writes the results as a Markdown table.
func Table(results []Result) string {
	var b strings.Builder
	b.WriteString("| traffic | true effect | fixed thresholds: rolled back | judge: rolled back | judge: decided by policy | median release, fixed / judge |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %g req/s | %s | %s | %s | %s | %s / %s |\n",
			r.Rate, r.Effect.Name, share(r.Thresholds.RolledBack, r.Thresholds.Releases),
			share(r.Judge.RolledBack, r.Judge.Releases), share(r.Judge.ByPolicy, r.Judge.Releases),
			minutes(r.Thresholds.Median()), minutes(r.Judge.Median()))
	}
	return b.String()
}

func share(n, of int) string {
	return fmt.Sprintf("%.1f%% (%d/%d)", 100*float64(n)/float64(of), n, of)
}

func minutes(d time.Duration) string {
	return fmt.Sprintf("%.1f min", d.Minutes())
}
