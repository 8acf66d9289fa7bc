package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/emulator"
)

// FaultWeight is the canary weight at which Rollback starts the fault
// injection: the seed's log shows the canary at 15 when its halts begin.
const FaultWeight = 15

// Outcome is what one release did.
type Outcome struct {
	Tag      string
	Phase    flaggerv1.CanaryPhase
	Started  time.Time
	Duration time.Duration
	// Steps are the splits the routing object carried, with the load
	// test's traffic during each.
	Steps []Step
	// CanaryWeights is the sequence of canary weights on the routing
	// object, starting with the one the release found.
	CanaryWeights []int
	// Messages are the operator's messages since the release began.
	Messages []Message
	// Final is the state once the release has settled.
	Final State
	// CanaryRequestsAfter counts the requests canary pods served in the
	// settle time after the release ended (should be 0 after a rollback).
	CanaryRequestsAfter int64
}

// State is the application after a release.
type State struct {
	PrimaryImage   string
	CanaryReplicas int32
	Routes         Weights
	// Version is what GET /version answers through the apex host.
	Version string
}

// Promote plays the seed's "automated canary promotion": podinfo gets
// TagGood and the release runs until it has succeeded and settled.
func (sc *Scenario) Promote(ctx context.Context, onStep func(Step)) (Outcome, error) {
	return sc.release(ctx, TagGood, flaggerv1.CanaryPhaseSucceeded, onStep, nil)
}

// Rollback plays the seed's "automated rollback": podinfo gets TagFaulty;
// once the canary has FaultWeight the load tester runs hey against its
// /delay/1, and after two more failed checks also against its
// /status/500. The seed runs both; one after the other, each of the two
// built-in metrics halts the canary in turn (the success rate is checked
// first, so with both at once only its halts would be seen).
func (sc *Scenario) Rollback(ctx context.Context, onStep func(Step), onFault func(string)) (Outcome, error) {
	inject := func(path string) error {
		cmd := sc.FaultCommand(path)
		if onFault != nil {
			onFault(cmd)
		}
		return sc.InjectFault(ctx, cmd)
	}
	during := func(ctx context.Context) error {
		if err := sc.waitCanary(ctx, "canary weight", func(c *flaggerv1.Canary) bool { return c.Status.CanaryWeight >= FaultWeight }); err != nil {
			return err
		}
		c, err := sc.Canary(ctx)
		if err != nil {
			return err
		}
		if err := inject("/delay/1"); err != nil {
			return err
		}
		// Counted from here: a check without values at the start of the
		// analysis is a failed check too.
		base := c.Status.FailedChecks
		if err := sc.waitCanary(ctx, "two failed checks", func(c *flaggerv1.Canary) bool {
			return c.Status.FailedChecks >= base+2 || c.Status.Phase == flaggerv1.CanaryPhaseFailed
		}); err != nil {
			return err
		}
		return inject("/status/500")
	}
	return sc.release(ctx, TagFaulty, flaggerv1.CanaryPhaseFailed, onStep, during)
}

// Release sets tag and plays the release until it ends in want (an
// error otherwise) and the cluster settles; during, when not nil, runs
// alongside (fault injection). Promote and Rollback are the seed's.
func (sc *Scenario) Release(ctx context.Context, tag string, want flaggerv1.CanaryPhase, during func(context.Context) error) (Outcome, error) {
	return sc.release(ctx, tag, want, nil, during)
}

// WaitCanary waits, up to a release's time, until the Canary's status
// satisfies cond.
func (sc *Scenario) WaitCanary(ctx context.Context, what string, cond func(*flaggerv1.Canary) bool) error {
	return sc.waitCanary(ctx, what, cond)
}

// release sets tag, runs during (if any) alongside, and waits for the
// final phase and for the cluster to settle.
func (sc *Scenario) release(ctx context.Context, tag string, want flaggerv1.CanaryPhase, onStep func(Step), during func(context.Context) error) (Outcome, error) {
	out := Outcome{Tag: tag, Started: time.Now()}
	// The operator logs times in whole seconds; what it logged before the
	// release is told apart by position instead.
	seen := len(Messages(sc.Operator, "podinfo."+sc.Namespace))
	tr, err := sc.Track(ctx, onStep)
	if err != nil {
		return out, err
	}
	defer tr.Stop()
	before, err := sc.Canary(ctx)
	if err != nil {
		return out, err
	}
	if err := sc.SetTag(ctx, tag); err != nil {
		return out, err
	}
	duringErr := make(chan error, 1)
	if during != nil {
		// A release that ends early must not leave during waiting.
		dctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() { duringErr <- during(dctx) }()
	} else {
		duringErr <- nil
	}
	c, err := sc.waitFinal(ctx, before.Status.LastAppliedSpec)
	out.Duration = time.Since(out.Started)
	if c != nil {
		out.Phase = c.Status.Phase
		if out.Phase != want {
			err = fmt.Errorf("the release ended %s, not %s: %s", out.Phase, want, lastDecision(c))
		}
	}
	if err == nil {
		err = <-duringErr
	}
	if err == nil {
		out.Final, err = sc.settle(ctx)
	}
	if err == nil {
		out.CanaryRequestsAfter, err = sc.canaryRequestsDuring(ctx, sc.interval())
	}
	out.Steps = tr.Steps(ctx)
	out.CanaryWeights = tr.CanaryWeights()
	out.Messages = Messages(sc.Operator, "podinfo."+sc.Namespace)[seen:]
	return out, err
}

func (sc *Scenario) interval() time.Duration {
	d, err := time.ParseDuration(sc.Timings.Interval)
	if err != nil {
		return 10 * time.Second
	}
	return d
}

// releaseTimeout allows for the ten steps to 50, the promotion and slow
// machines.
func (sc *Scenario) releaseTimeout() time.Duration { return 30*sc.interval() + time.Minute }

// waitFinal waits until the release of a revision other than before has
// ended, Succeeded or Failed.
func (sc *Scenario) waitFinal(ctx context.Context, before string) (*flaggerv1.Canary, error) {
	var last *flaggerv1.Canary
	err := sc.waitCanary(ctx, "the end of the release", func(c *flaggerv1.Canary) bool {
		last = c
		p := c.Status.Phase
		return c.Status.LastAppliedSpec != before && (p == flaggerv1.CanaryPhaseSucceeded || p == flaggerv1.CanaryPhaseFailed)
	})
	if err != nil {
		return nil, fmt.Errorf("%w (last: %s)", err, lastDecision(last))
	}
	return last, nil
}

// lastDecision describes where a canary stands, for error messages.
func lastDecision(c *flaggerv1.Canary) string {
	if c == nil {
		return "no canary"
	}
	s := fmt.Sprintf("phase %s, weight %d, failed checks %d", c.Status.Phase, c.Status.CanaryWeight, c.Status.FailedChecks)
	if la := c.Status.LastAnalysis; la != nil && la.Decision != "" {
		s += ", last decision: " + la.Decision
	}
	return s
}

// waitCanary waits until the Canary's status satisfies cond.
func (sc *Scenario) waitCanary(ctx context.Context, what string, cond func(*flaggerv1.Canary) bool) error {
	ctx, cancel := context.WithTimeout(ctx, sc.releaseTimeout())
	defer cancel()
	for {
		if c, err := sc.Canary(ctx); err == nil && cond(c) {
			return nil
		}
		if sc.Operator != nil && sc.Operator.Exited() {
			return fmt.Errorf("waiting for %s: the operator exited (log: %s)", what, sc.Operator.LogPath())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// settle waits until all traffic is on the primary and the canary has no
// replicas and no ready pods left, and returns that state.
func (sc *Scenario) settle(ctx context.Context) (State, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		st, done, err := sc.state(ctx)
		if err == nil && done {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("release did not settle: primary %s, canary replicas %d, routes %s (%v)", st.PrimaryImage, st.CanaryReplicas, st.Routes, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (sc *Scenario) state(ctx context.Context) (State, bool, error) {
	var st State
	primary, target := &appsv1.Deployment{}, &appsv1.Deployment{}
	for name, d := range map[string]*appsv1.Deployment{"podinfo-primary": primary, "podinfo": target} {
		if err := sc.Stack.Client.Get(ctx, client.ObjectKey{Namespace: sc.Namespace, Name: name}, d); err != nil {
			return st, false, err
		}
	}
	st.PrimaryImage = primary.Spec.Template.Spec.Containers[0].Image
	if target.Spec.Replicas != nil {
		st.CanaryReplicas = *target.Spec.Replicas
	}
	w, err := sc.Weights(ctx)
	if err != nil {
		return st, false, err
	}
	st.Routes = w
	settled := st.CanaryReplicas == 0 && target.Status.Replicas == 0 && w == Weights{Primary: 100} &&
		primary.Status.UpdatedReplicas == primary.Status.Replicas && primary.Status.ObservedGeneration == primary.Generation
	if settled {
		st.Version, err = sc.version(ctx)
	}
	return st, settled, err
}

// version asks podinfo for its version through the apex virtual host.
func (sc *Scenario) version(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sc.Stack.EmulatorURL+"/version", nil)
	if err != nil {
		return "", err
	}
	req.Host = sc.Host() + ":9898"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v struct {
		Version string `json:"version"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &v) != nil {
		return "", fmt.Errorf("GET /version via %s: %s %s", sc.Host(), resp.Status, body)
	}
	return v.Version, nil
}

// canaryRequestsDuring counts the requests the canary Deployment's pods
// serve over d, whatever host they were sent to.
func (sc *Scenario) canaryRequestsDuring(ctx context.Context, d time.Duration) (int64, error) {
	before, err := emulator.FetchReport(ctx, sc.Stack.EmulatorAdminURL)
	if err != nil {
		return 0, err
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(d):
	}
	after, err := emulator.FetchReport(ctx, sc.Stack.EmulatorAdminURL)
	if err != nil {
		return 0, err
	}
	return after.Deployment(sc.Namespace, "podinfo") - before.Deployment(sc.Namespace, "podinfo"), nil
}
