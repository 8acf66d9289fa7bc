package controller

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// statusWrites counts the status writes in the journal.
func (j *journal) statusWrites() int {
	n := 0
	for _, e := range j.all() {
		if strings.HasPrefix(e, "status ") {
			n++
		}
	}
	return n
}

func reconcilingMessage(t *testing.T, c *flaggerv1.Canary) string {
	t.Helper()
	cond := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.ReconcilingCondition)
	if cond == nil {
		t.Fatalf("no Reconciling condition in %+v", c.Status.Conditions)
	}
	return cond.Message
}

// A promotion waits for the primary's rollout, whose message changes as
// the Deployment controller and the pods move. A change of that message
// alone is written at most every waitingMessageEvery: the first waits
// after a write mostly end within a second, and each write costs the API
// server a validation of the whole Canary.
func TestAWaitingMessageAloneIsWrittenAtMostEveryFewSeconds(t *testing.T) {
	f := newRelease(inPhase(flaggerv1.CanaryPhasePromoting))
	f.primary = newDeployment("podinfo-primary", "podinfo-primary", "podinfo:1", 2, ownedBy(f.canary), notAvailable)
	e := newEnv(t, withObjects(f.objects()...))
	e.routed(80, 20)
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	written := e.j.statusWrites()
	first := reconcilingMessage(t, e.canary())
	if written == 0 || !strings.Contains(first, "to run the promoted template") {
		t.Fatalf("after the promotion's first reconcile: %d status writes, Reconciling %q; want it written, waiting for the template", written, first)
	}

	e.clock.Step(time.Second)
	res, err := e.reconcile()
	if err != nil {
		t.Fatal(err)
	}
	if n := e.j.statusWrites(); n != written {
		t.Errorf("%d status writes for a new waiting message 1s after the last write, want none", n-written)
	}
	if got := reconcilingMessage(t, e.canary()); got != first {
		t.Errorf("stored Reconciling message %q, want %q still", got, first)
	}
	if want := waitingMessageEvery - time.Second; res.RequeueAfter != want {
		t.Errorf("requeue after %s, want %s: the message is written if the wait lasts", res.RequeueAfter, want)
	}

	e.clock.Step(res.RequeueAfter)
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	if n := e.j.statusWrites(); n != written+1 {
		t.Errorf("%d status writes once the wait lasted %s, want 1", n-written, waitingMessageEvery)
	}
	if got := reconcilingMessage(t, e.canary()); !strings.Contains(got, "waiting for rollout of podinfo-primary") {
		t.Errorf("stored Reconciling message %q, want the primary's rollout", got)
	}
}

// The step that scales the canary up writes its status first; the watch
// event of that write starts another reconcile, often before the cache
// has seen the scale-up. That reconcile does not send the patch again,
// but one of a target someone changed since (a newer cached version) is.
func TestAScaleUpTheCacheHasNotSeenIsNotSentAgain(t *testing.T) {
	f := newRelease(atWeight(0), func(c *flaggerv1.Canary) { c.Status.LastAnalysis = nil })
	zero := int32(0)
	f.target.Spec.Replicas = &zero
	var cached atomic.Pointer[appsv1.Deployment]
	e := newEnv(t, withObjects(f.objects()...), withInterceptor(interceptor.Funcs{
		Get: func(ctx context.Context, cl client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if d, ok := obj.(*appsv1.Deployment); ok && key.Name == "podinfo" && cached.Load() != nil {
				cached.Load().DeepCopyInto(d)
				return nil
			}
			return cl.Get(ctx, key, obj, opts...)
		},
	}))
	e.routed(100, 0)
	cached.Store(e.deployment("podinfo"))
	scaleUps := func() int {
		n := 0
		for _, entry := range e.j.all() {
			if entry == "patch deployment podinfo replicas 2" {
				n++
			}
		}
		return n
	}
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	if n := scaleUps(); n != 1 {
		t.Fatalf("%d scale-ups in the first reconcile, want 1: %q", n, e.j.all())
	}
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	if n := scaleUps(); n != 1 {
		t.Errorf("%d scale-ups after a reconcile of a cache that has not seen the first, want 1: %q", n, e.j.all())
	}

	scaledDownSince := cached.Load().DeepCopy()
	scaledDownSince.ResourceVersion += "-later"
	cached.Store(scaledDownSince)
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	if n := scaleUps(); n != 2 {
		t.Errorf("%d scale-ups after the target was scaled down again, want 2: %q", n, e.j.all())
	}
}
