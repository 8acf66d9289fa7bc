package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/levers"
)

// FieldManager is the client part of the plugin's field manager; the user
// follows it (kubectl-serin:jane).
const FieldManager = "kubectl-serin"

// leverCommand describes one lever subcommand.
type leverCommand struct {
	use, short, long string
	lever            levers.Lever
	resume           bool
}

var leverCommands = []leverCommand{
	{use: "promote", lever: levers.Promote, short: "Promote the release now, skipping its remaining steps",
		long: "promote skips the remaining analysis steps and promotes the revision through the promotion path: " +
			"the primary takes the new template, then all traffic moves to it. The request is the approval: " +
			"confirm-promotion webhooks are not asked."},
	{use: "abort", lever: levers.Abort, short: "Roll the release back now",
		long: "abort routes all traffic back to the primary, then scales the canary down; the release ends Failed."},
	{use: "retry", lever: levers.Retry, short: "Run the analysis of a failed revision again",
		long: "retry starts the analysis of the failed revision again, even though its pod template did not change."},
	{use: "pause", lever: levers.Pause, short: "Hold the release where it is",
		long: "pause holds the release at its weight: no analysis runs and nothing moves until resume. " +
			"promote and abort still act on a paused release."},
	{use: "resume", lever: levers.Pause, resume: true, short: "Let a paused release go on",
		long: "resume removes the pause; the next analysis run follows at once."},
}

func newLeverCommands(o *options) []*cobra.Command {
	var out []*cobra.Command
	for _, lc := range leverCommands {
		var noWait bool
		var timeout time.Duration
		cmd := &cobra.Command{
			Use:     lc.use + " NAME",
			Short:   lc.short,
			Long:    lc.long + " The request is the annotation " + lc.lever.Annotation() + " on the Canary; RBAC's patch on canaries decides who may make it.",
			Example: fmt.Sprintf("  kubectl serin %s podinfo -n test", lc.use),
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				cl, err := o.connect()
				if err != nil {
					return err
				}
				ctx := cmd.Context()
				r, err := cl.pull(ctx, args[0], lc)
				if err != nil || noWait || r.done {
					if err == nil {
						fmt.Fprintln(o.streams.Out, r.message)
					}
					return err
				}
				fmt.Fprintln(o.streams.Out, r.message)
				return o.awaitAcknowledgement(ctx, cl, args[0], lc, r.id, timeout)
			},
		}
		cmd.Flags().BoolVar(&noWait, "no-wait", false, "Return once the request is made, without waiting for the operator to act on it.")
		cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "How long to wait for the operator to act on the request.")
		o.addOutputFlag(cmd)
		out = append(out, cmd)
	}
	return out
}

// pulled is the outcome of making a request.
type pulled struct {
	id      string
	message string
	// done is set when there is nothing to wait for.
	done bool
}

// pull makes the request: it sets (or, for resume, removes) the lever's
// annotation as kubectl-serin:<user>.
func (c *clients) pull(ctx context.Context, name string, lc leverCommand) (pulled, error) {
	canary, err := c.getCanary(ctx, name)
	if err != nil {
		return pulled{}, err
	}
	_, paused := canary.Annotations[flaggerv1.PauseAnnotation]
	switch {
	case lc.resume && !paused:
		return pulled{done: true, message: fmt.Sprintf("canary %s is not paused", name)}, nil
	case lc.lever == levers.Pause && !lc.resume && paused:
		return pulled{done: true, message: fmt.Sprintf("canary %s is already paused", name)}, nil
	}
	manager := levers.FieldManager(FieldManager, c.user(ctx))
	var id string
	if lc.resume {
		err = levers.Resume(ctx, c, canary, manager)
	} else {
		id, err = levers.Pull(ctx, c, canary, lc.lever, manager, time.Now())
	}
	if err != nil {
		return pulled{}, err
	}
	msg := fmt.Sprintf("%s of canary %s.%s requested (%s=%s)", lc.use, name, c.namespace, lc.lever.Annotation(), id)
	if lc.resume {
		msg = fmt.Sprintf("resume of canary %s.%s requested (%s removed)", name, c.namespace, lc.lever.Annotation())
	}
	return pulled{id: id, message: msg}, nil
}

// user asks the API server who the plugin runs as, so that the request
// names the person; a server that will not say leaves it out.
func (c *clients) user(ctx context.Context) string {
	r, err := c.typed.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return ""
	}
	return r.Status.UserInfo.Username
}

// errNotApplied is returned when the operator handled a request without
// acting on it.
var errNotApplied = errors.New("the operator did not act on the request")

// awaitAcknowledgement waits until the operator has handled request id of
// the lever and prints what it did.
func (o *options) awaitAcknowledgement(ctx context.Context, cl *clients, name string, lc leverCommand, id string, timeout time.Duration) error {
	var rec *flaggerv1.LeverRecord
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		c, err := cl.getCanary(ctx, name)
		if err != nil {
			return false, err
		}
		rec = levers.Handled(c.Status.Levers, lc.lever)
		if lc.resume {
			return rec == nil, nil
		}
		return rec != nil && rec.ID == id, nil
	})
	if err != nil {
		return fmt.Errorf("the operator has not acted on the %s request within %s; it will when it runs (the request stays on the canary): %w", lc.use, timeout, err)
	}
	if lc.resume {
		fmt.Fprintln(o.streams.Out, "the operator resumed the release")
		return nil
	}
	if o.output != "" {
		return printData(o.streams.Out, o.output, rec)
	}
	fmt.Fprintf(o.streams.Out, "the operator: %s\n", rec.Message)
	if !rec.Applied {
		return errNotApplied
	}
	return nil
}
