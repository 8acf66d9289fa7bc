package demo

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// summarize prints one screen: per release, the split at each step with the
// measured canary share, the halts, and the final state.
func summarize(out io.Writer, sc *Scenario, outcomes []Outcome) {
	fmt.Fprintf(out, "\n== Summary (provider %s, namespace %s) ==\n", sc.Provider, sc.Namespace)
	for _, o := range outcomes {
		fmt.Fprintf(out, "\npodinfo %s: %s after %.0fs; %s weights %s\n", o.Tag, o.Phase, o.Duration.Seconds(), sc.RoutingKind(), joinInts(o.CanaryWeights))
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  weight\trequests\ton canary\tshare\tdeviation")
		for _, s := range o.Steps {
			if s.Traffic.Total() == 0 {
				continue
			}
			fmt.Fprintf(tw, "  %d\t%d\t%d\t%.1f%%\t%+.1f pp\n", s.Weights.Canary, s.Traffic.Total(), s.Traffic.Canary,
				s.Traffic.CanaryPercent(), s.Traffic.CanaryPercent()-float64(s.Weights.Canary))
		}
		_ = tw.Flush()
		for _, m := range o.Messages {
			if strings.HasPrefix(m.Text, "Halt") || strings.HasPrefix(m.Text, "Rolling back") || strings.HasPrefix(m.Text, "Canary failed") {
				fmt.Fprintf(out, "  %s\n", m.Text)
			}
		}
		if o.Phase == flaggerv1.CanaryPhaseFailed {
			verdict := "as in the seed (start, advances, halts with Prometheus values, rollback at 5 failed checks, scale-down)"
			if err := CheckRollbackSequence(sc.Namespace, sc.Provider, o.Messages); err != nil {
				verdict = "NOT as in the seed: " + err.Error()
			}
			fmt.Fprintf(out, "  message sequence %s\n", verdict)
		}
		f := o.Final
		fmt.Fprintf(out, "  final: primary %s, canary replicas %d, routes %s, /version %s, canary requests after: %d\n",
			f.PrimaryImage, f.CanaryReplicas, f.Routes, f.Version, o.CanaryRequestsAfter)
	}
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}
