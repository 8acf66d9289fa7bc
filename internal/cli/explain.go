package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/serin-dev/serin/internal/view"
)

func newExplainCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "explain NAME",
		Short:   "Say why the last step went as it did, in words and numbers, and what comes next",
		Example: "  kubectl serin explain podinfo -n test",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := o.connect()
			if err != nil {
				return err
			}
			c, err := cl.getCanary(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			e := view.Explain(c)
			if o.output != "" {
				return printData(o.streams.Out, o.output, e)
			}
			writeExplanation(o.streams.Out, newPainter(o.color, o.streams.Out), e)
			return nil
		},
	}
	o.addOutputFlag(cmd)
	return cmd
}

// writeExplanation writes an explanation as a short text.
func writeExplanation(w io.Writer, p painter, e view.Explanation) {
	fmt.Fprintln(w, p.paint(bold, e.Headline))
	if e.Run != "" {
		fmt.Fprintf(w, "\n%s\n", e.Run)
		for _, c := range e.Checks {
			fmt.Fprintf(w, "  - %s\n", c)
		}
	}
	if e.Decision != "" {
		fmt.Fprintf(w, "Decision: %s\n", e.Decision)
	}
	if len(e.Next) > 0 {
		fmt.Fprintln(w)
		for _, n := range e.Next {
			fmt.Fprintln(w, n)
		}
	}
}
