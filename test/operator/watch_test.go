package operator

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/workload"
	"github.com/serin-dev/serin/test/framework"
)

// seen is one state of a canary and when the watch delivered it.
type seen struct {
	at     time.Time
	canary *flaggerv1.Canary
}

// canaryWatch timestamps every state of one canary as the API server
// sends it, so a wait measures when a change became visible, not when a
// poll happened to look.
type canaryWatch struct {
	states chan seen
}

// watchCanary starts watching canary name in ns; the watch first delivers
// the canary's current state, if it exists. It stops when the test ends.
func watchCanary(tb testing.TB, ns, name string) *canaryWatch {
	tb.Helper()
	cw := &canaryWatch{states: make(chan seen, 1024)}
	framework.Get().Watch(tb, &flaggerv1.CanaryList{}, func(ctx context.Context, ev watch.Event) {
		at := time.Now()
		c, ok := ev.Object.(*flaggerv1.Canary)
		if !ok {
			return
		}
		select {
		case cw.states <- seen{at: at, canary: c}:
		case <-ctx.Done():
		}
	}, client.InNamespace(ns), client.MatchingFields{"metadata.name": name})
	return cw
}

// waitFor returns the first state delivered from now on for which done
// is true; states delivered before the call count too, in order.
func (w *canaryWatch) waitFor(tb testing.TB, timeout time.Duration, what string, done func(*flaggerv1.Canary) bool) seen {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	last := "no state delivered"
	for {
		select {
		case s, ok := <-w.states:
			if !ok {
				tb.Fatalf("the watch closed while waiting for %s; last state: %s", what, last)
			}
			if done(s.canary) {
				return s
			}
			last = describe(s.canary)
		case <-deadline.C:
			tb.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, what, last)
		}
	}
}

// inPhase is true for a canary in phase whose last applied revision is
// hash; any revision when hash is empty.
func inPhase(phase flaggerv1.CanaryPhase, hash string) func(*flaggerv1.Canary) bool {
	return func(c *flaggerv1.Canary) bool {
		return c.Status.Phase == phase && (hash == "" || c.Status.LastAppliedSpec == hash)
	}
}

func describe(c *flaggerv1.Canary) string {
	return fmt.Sprintf("phase %q, lastAppliedSpec %q, conditions %+v", c.Status.Phase, c.Status.LastAppliedSpec, c.Status.Conditions)
}

// revisionAnnotation is changed on the target's pod template to make a new
// revision without changing what the pods run.
const revisionAnnotation = "test.serin.dev/revision"

// newRevision writes rev into the target's pod template and returns the
// template hash the operator will record as status.lastAppliedSpec.
func newRevision(tb testing.TB, ns, target, rev string) string {
	tb.Helper()
	cl := framework.Get().Client
	d := &appsv1.Deployment{}
	if err := cl.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: target}, d); err != nil {
		tb.Fatalf("get %s: %v", target, err)
	}
	patch := client.MergeFrom(d.DeepCopy())
	if d.Spec.Template.Annotations == nil {
		d.Spec.Template.Annotations = map[string]string{}
	}
	d.Spec.Template.Annotations[revisionAnnotation] = rev
	// The patch reads back the stored object, defaults included, which is
	// what the operator hashes.
	if err := cl.Patch(context.Background(), d, patch); err != nil {
		tb.Fatalf("patch %s to revision %s: %v", target, rev, err)
	}
	return workload.TemplateHash(&d.Spec.Template)
}
