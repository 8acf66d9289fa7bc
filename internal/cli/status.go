package cli

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/view"
)

func newStatusCommand(o *options) *cobra.Command {
	var follow bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Show a release: weight timeline, each check against its threshold, gates, levers and events",
		Long: "status shows one canary's release. With --watch it shows it again at every change until the release " +
			"under way (or the next one) ends, --timeout passes, or it is interrupted.",
		Example: "  kubectl serin status podinfo -n test\n" +
			"  kubectl serin status podinfo -n test --watch",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := o.connect()
			if err != nil {
				return err
			}
			if !follow {
				d, err := cl.detail(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return o.printDetail(d, false)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			return o.watchStatus(ctx, cl, args[0])
		},
	}
	cmd.Flags().BoolVarP(&follow, "watch", "w", false, "Show the release again at every change until it ends.")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "Stop watching after this long; 0 watches until the release ends.")
	o.addOutputFlag(cmd)
	return cmd
}

// detail reads a canary and its events.
func (c *clients) detail(ctx context.Context, name string) (view.Detail, error) {
	canary, err := c.getCanary(ctx, name)
	if err != nil {
		return view.Detail{}, err
	}
	var events corev1.EventList
	sel := fields.SelectorFromSet(fields.Set{"involvedObject.kind": "Canary", "involvedObject.name": name})
	if err := c.List(ctx, &events, client.InNamespace(c.namespace), client.MatchingFieldsSelector{Selector: sel}); err != nil {
		return view.Detail{}, fmt.Errorf("list events of canary %s: %w", name, err)
	}
	return view.Describe(canary, events.Items), nil
}

// watchStatus shows the release at every change of the canary until a
// release seen under way has ended.
func (o *options) watchStatus(ctx context.Context, cl *clients, name string) error {
	w, err := cl.Watch(ctx, &flaggerv1.CanaryList{}, client.InNamespace(cl.namespace),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", name)})
	if err != nil {
		return fmt.Errorf("watch canary %s: %w", name, err)
	}
	defer w.Stop()
	underway, first := false, true
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return fmt.Errorf("the watch of canary %s ended", name)
			}
			c, isCanary := ev.Object.(*flaggerv1.Canary)
			if ev.Type == watch.Error || !isCanary {
				return fmt.Errorf("watch canary %s: %v", name, ev.Object)
			}
			if ev.Type == watch.Deleted {
				return fmt.Errorf("canary %s was deleted", name)
			}
			d, err := cl.detail(ctx, name)
			if err != nil {
				return err
			}
			if err := o.printDetail(d, !first); err != nil {
				return err
			}
			first = false
			if releasing(c.Status.Phase) {
				underway = true
			} else if underway {
				return nil
			}
		}
	}
}

// releasing reports whether a release is under way in phase p.
func releasing(p flaggerv1.CanaryPhase) bool {
	switch p {
	case flaggerv1.CanaryPhaseWaiting, flaggerv1.CanaryPhaseProgressing, flaggerv1.CanaryPhaseWaitingPromotion,
		flaggerv1.CanaryPhasePromoting, flaggerv1.CanaryPhaseFinalising:
		return true
	}
	return false
}

// printDetail prints a release; again is set when it replaces an earlier
// print: a terminal is cleared, other output gets a separator.
func (o *options) printDetail(d view.Detail, again bool) error {
	if o.output != "" {
		if again && o.output == "yaml" {
			fmt.Fprintln(o.streams.Out, "---")
		}
		return printData(o.streams.Out, o.output, d)
	}
	p := newPainter(o.color, o.streams.Out)
	if again {
		if p.on {
			fmt.Fprint(o.streams.Out, "\x1b[H\x1b[2J")
		} else {
			fmt.Fprintln(o.streams.Out, "---")
		}
	}
	writeDetail(o.streams.Out, p, d)
	return nil
}

// barWidth is the width of a weight bar at 100 %.
const barWidth = 20

// writeDetail writes a release for people.
func writeDetail(w io.Writer, p painter, d view.Detail) {
	phase := d.Phase
	if phase == "" {
		phase = "Unknown"
	}
	fmt.Fprintf(w, "%s %s.%s\n", p.paint(bold, "Canary"), d.Name, d.Namespace)
	fmt.Fprintf(w, "  Status:    %s, weight %d, failed checks %d/%d\n", p.paint(phaseColor(d.Phase), phase), d.Weight, d.FailedChecks, d.Threshold)
	fmt.Fprintf(w, "  Target:    %s  Provider: %s  Strategy: %s  Interval: %s\n", d.Target, orDash(d.Provider), d.Strategy, d.Interval)
	if d.Paused != "" {
		fmt.Fprintf(w, "  Paused:    %s\n", p.paint(yellow, "by "+d.Paused))
	}
	if d.Problem != "" {
		fmt.Fprintf(w, "  Problem:   %s\n", p.paint(red, d.Problem))
	}
	writeTimeline(w, p, d)
	writeLastAnalysis(w, p, d)
	if len(d.Gates) > 0 {
		fmt.Fprintf(w, "\n%s\n", p.paint(bold, "Gates"))
		for _, g := range d.Gates {
			fmt.Fprintf(w, "  %s (%s)\n", g.Name, g.Type)
		}
	}
	writeLevers(w, p, d.Levers)
	writeEvents(w, p, d.Events)
}

// writeTimeline writes the history as weight bars, one per step.
func writeTimeline(w io.Writer, p painter, d view.Detail) {
	fmt.Fprintf(w, "\n%s\n", p.paint(bold, "Timeline"))
	if len(d.Timeline) == 0 {
		fmt.Fprintln(w, "  (no steps recorded yet)")
		return
	}
	var rows [][]cell
	for _, r := range d.Timeline {
		filled := (r.CanaryWeight*barWidth + 50) / 100
		bar := strings.Repeat("█", filled) + strings.Repeat("░", barWidth-filled)
		checks := "-"
		if n := len(r.Checks); n > 0 {
			ok := 0
			for _, c := range r.Checks {
				if c.Passed {
					ok++
				}
			}
			checks = fmt.Sprintf("%d/%d", ok, n)
		}
		color := green
		if !r.Passed && len(r.Checks) > 0 {
			color = red
		}
		rows = append(rows, []cell{
			{text: r.Time.UTC().Format(view.TimeFormat)}, {text: string(r.Phase), color: phaseColor(string(r.Phase))},
			{text: strconv.Itoa(r.CanaryWeight)}, {text: bar, color: blue}, {text: checks, color: color}, {text: r.Decision},
		})
	}
	p.table(w, "  ", []string{"TIME", "PHASE", "WEIGHT", "", "CHECKS", "DECISION"}, rows)
}

// writeLastAnalysis writes each check of the last run.
func writeLastAnalysis(w io.Writer, p painter, d view.Detail) {
	la := d.LastAnalysis
	if la == nil {
		return
	}
	fmt.Fprintf(w, "\n%s at %s, weight %d: %s\n", p.paint(bold, "Last analysis"), la.Time.UTC().Format(view.TimeFormat), la.CanaryWeight, p.verdict(la.Passed))
	var rows [][]cell
	for _, c := range la.Checks {
		rows = append(rows, []cell{{text: c.Name}, {text: c.Kind}, {text: orDash(c.Value)}, {text: orDash(c.Threshold)}, {text: p.verdict(c.Passed)}})
	}
	if len(rows) > 0 {
		p.table(w, "  ", []string{"CHECK", "KIND", "VALUE", "THRESHOLD", "RESULT"}, rows)
	}
	if la.Decision != "" {
		fmt.Fprintf(w, "  Decision: %s\n", la.Decision)
	}
}

// writeLevers writes the lever requests the operator handled.
func writeLevers(w io.Writer, p painter, l *flaggerv1.LeverStatus) {
	if l == nil {
		return
	}
	fmt.Fprintf(w, "\n%s\n", p.paint(bold, "Levers"))
	for _, e := range []struct {
		name string
		r    *flaggerv1.LeverRecord
	}{{"promote", l.Promote}, {"abort", l.Abort}, {"retry", l.Retry}, {"pause", l.Pause}} {
		if e.r == nil {
			continue
		}
		state := p.paint(green, "applied")
		if !e.r.Applied {
			state = p.paint(yellow, "not applied")
		}
		fmt.Fprintf(w, "  %-8s %s by %s at %s: %s: %s\n", e.name, e.r.ID, orDash(e.r.RequestedBy), e.r.Time.UTC().Format(view.TimeFormat), state, e.r.Message)
	}
}

// writeEvents writes the canary's events, oldest first.
func writeEvents(w io.Writer, p painter, events []view.Event) {
	fmt.Fprintf(w, "\n%s\n", p.paint(bold, "Events"))
	if len(events) == 0 {
		fmt.Fprintln(w, "  (none)")
		return
	}
	var rows [][]cell
	for _, e := range events {
		color := ""
		if e.Type == corev1.EventTypeWarning {
			color = yellow
		}
		msg := e.Message
		if e.Count > 1 {
			msg += fmt.Sprintf(" (x%d)", e.Count)
		}
		rows = append(rows, []cell{{text: e.Time.UTC().Format(view.TimeFormat)}, {text: e.Type, color: color}, {text: e.Reason}, {text: msg}})
	}
	p.table(w, "  ", []string{"TIME", "TYPE", "REASON", "MESSAGE"}, rows)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
