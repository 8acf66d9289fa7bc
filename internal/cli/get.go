package cli

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/view"
)

// summaryList is what get -o json|yaml prints.
type summaryList struct {
	Items []view.Summary `json:"items"`
}

func newGetCommand(o *options) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "get [NAME]",
		Short: "List canaries with their phase, weight and last decision",
		Example: "  kubectl serin get -A\n" +
			"  kubectl serin get podinfo -n test -o json",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := o.connect()
			if err != nil {
				return err
			}
			var list []view.Summary
			if len(args) == 1 {
				c, err := cl.getCanary(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				list = append(list, view.Summarize(c))
			} else {
				var canaries flaggerv1.CanaryList
				var opts []client.ListOption
				if !all {
					opts = append(opts, client.InNamespace(cl.namespace))
				}
				if err := cl.List(cmd.Context(), &canaries, opts...); err != nil {
					return fmt.Errorf("list canaries: %w", err)
				}
				for i := range canaries.Items {
					list = append(list, view.Summarize(&canaries.Items[i]))
				}
				view.SortSummaries(list)
			}
			if o.output != "" {
				return printData(o.streams.Out, o.output, summaryList{Items: append([]view.Summary{}, list...)})
			}
			if len(list) == 0 {
				where := "in namespace " + cl.namespace
				if all {
					where = "in any namespace"
				}
				fmt.Fprintf(o.streams.Out, "No canaries found %s.\n", where)
				return nil
			}
			printSummaries(o.streams.Out, newPainter(o.color, o.streams.Out), list, all, time.Now())
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "List canaries in every namespace.")
	o.addOutputFlag(cmd)
	return cmd
}

// printSummaries writes the canary list as a table.
func printSummaries(w io.Writer, p painter, list []view.Summary, withNamespace bool, now time.Time) {
	header := []string{"NAME", "STATUS", "WEIGHT", "FAILED", "AGE", "LAST DECISION"}
	if withNamespace {
		header = append([]string{"NAMESPACE"}, header...)
	}
	var rows [][]cell
	for _, s := range list {
		phase := s.Phase
		if phase == "" {
			phase = "Unknown"
		}
		if s.Paused != "" {
			phase += " (paused)"
		}
		age := "-"
		if s.LastTransitionTime != nil {
			age = duration.HumanDuration(now.Sub(*s.LastTransitionTime))
		}
		decision := s.LastDecision
		if s.Problem != "" {
			decision = s.Problem
		}
		row := []cell{
			{text: s.Name}, {text: phase, color: phaseColor(s.Phase)}, {text: strconv.Itoa(s.Weight)},
			{text: fmt.Sprintf("%d/%d", s.FailedChecks, s.Threshold)}, {text: age}, {text: decision},
		}
		if withNamespace {
			row = append([]cell{{text: s.Namespace}}, row...)
		}
		rows = append(rows, row)
	}
	p.table(w, "", header, rows)
}
