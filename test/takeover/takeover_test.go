package takeover

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

const adopted = "AdoptedFromFlagger"

// Serin started where Flagger stopped carries on exactly: a promoted and
// a failed canary stay as they are, with no webhook call and no write to
// their primary or routes; a canary at weight 20 continues to 25 without
// calling its pre-rollout hooks again. Each status is migrated once, with
// a condition and an event saying so, and not again after a restart.
func TestSerinCarriesOnWhereFlaggerStopped(t *testing.T) {
	e := framework.Get()
	ns := e.Namespace(t)
	rcv := receiver{framework.NewHookReceiver(t)}
	promoted := flaggerCanary{name: "promoted", phase: flaggerv1.CanaryPhaseSucceeded,
		targetImage: "stefanprodan/podinfo:3.1.1", primaryImage: "stefanprodan/podinfo:3.1.1"}
	failed := flaggerCanary{name: "failed", phase: flaggerv1.CanaryPhaseFailed, failedChecks: 5,
		targetImage: "stefanprodan/podinfo:3.0.2", primaryImage: "stefanprodan/podinfo:3.1.1"}
	progressing := flaggerCanary{name: "progressing", phase: flaggerv1.CanaryPhaseProgressing, weight: 20,
		targetImage: "stefanprodan/podinfo:3.1.2", primaryImage: "stefanprodan/podinfo:3.1.1", targetReplicas: 2}
	for _, f := range []flaggerCanary{promoted, failed, progressing} {
		f.build(t, ns, rcv)
	}
	waitAvailable(t, ns, "promoted-primary", "failed-primary", "progressing-primary", "progressing")
	primaries := map[string]*appsv1.Deployment{}
	routes := map[string]*gatewayv1.HTTPRoute{}
	for _, name := range []string{"promoted", "failed", "progressing"} {
		primaries[name], routes[name] = &appsv1.Deployment{}, &gatewayv1.HTTPRoute{}
		framework.MustGet(t, ns, name+"-primary", primaries[name])
		framework.MustGet(t, ns, name, routes[name])
	}
	weights := recordWeights(t, ns, "progressing")

	op := e.StartOperator(t, "--namespace="+ns)
	framework.Eventually(t, 60*time.Second, "the progressing canary to reach weight 25", func(context.Context) (bool, string) {
		got := weights.sequence()
		return slices.Contains(got, 25), fmt.Sprintf("weights so far %v", got)
	})
	if got := weights.sequence(); !slices.Equal(got[:2], []int{20, 25}) {
		t.Errorf("canary weights %v: the release must continue from 20 to 25", got)
	}
	// All three were reconciled at start, seconds before the third made its
	// step; the conditions say each status was migrated, and how.
	for name, reason := range map[string]string{"promoted": "Promoted", "failed": "Failed", "progressing": "Continued"} {
		c := &flaggerv1.Canary{}
		framework.MustGet(t, ns, name, c)
		if cond := meta.FindStatusCondition(c.Status.Conditions, adopted); cond == nil || cond.Reason != reason {
			t.Errorf("canary %s has conditions %+v, want %s with reason %s", name, c.Status.Conditions, adopted, reason)
		}
	}

	for _, name := range []string{"promoted", "failed"} {
		if calls := rcv.callsOf(name); len(calls) > 0 {
			t.Errorf("canary %s called webhooks %v: adopting it must call none", name, calls)
		}
	}
	if calls := rcv.callsOf("progressing"); calls["pre-rollout"] > 0 || calls["confirm-rollout"] > 0 || calls["rollout"] == 0 {
		t.Errorf("canary progressing called webhooks %v, want rollout checks and no pre-rollout or confirm-rollout again", calls)
	}
	for name, before := range primaries {
		after := &appsv1.Deployment{}
		framework.MustGet(t, ns, name+"-primary", after)
		if after.ResourceVersion != before.ResourceVersion || !equality.Semantic.DeepEqual(after.Spec.Template, before.Spec.Template) {
			t.Errorf("primary %s was written (resourceVersion %s, was %s; template annotations %v): adopting it must not roll it",
				after.Name, after.ResourceVersion, before.ResourceVersion, after.Spec.Template.Annotations)
		}
	}
	for _, name := range []string{"promoted", "failed"} {
		after := &gatewayv1.HTTPRoute{}
		framework.MustGet(t, ns, name, after)
		if !equality.Semantic.DeepEqual(after.Spec, routes[name].Spec) {
			t.Errorf("HTTPRoute %s changed from %+v to %+v: Flagger's route, filters included, must be kept", name, routes[name].Spec, after.Spec)
		}
	}
	assertStatus(t, ns, "promoted", flaggerv1.CanaryPhaseSucceeded, true)
	assertStatus(t, ns, "failed", flaggerv1.CanaryPhaseFailed, false)
	target := &appsv1.Deployment{}
	framework.MustGet(t, ns, "failed", target)
	if *target.Spec.Replicas != 0 {
		t.Errorf("the failed canary's target has %d replicas, want 0", *target.Spec.Replicas)
	}
	// The takeover happens once: an operator started again reconciles the
	// same canaries (the third goes on to 30) and adopts nothing.
	op.Kill()
	again := e.StartOperator(t, "--namespace="+ns)
	framework.Eventually(t, 60*time.Second, "the progressing canary to reach weight 30", func(context.Context) (bool, string) {
		got := weights.sequence()
		return slices.Contains(got, 30), fmt.Sprintf("weights so far %v", got)
	})
	for _, name := range []string{"promoted", "failed", "progressing"} {
		if n := events(t, ns, name, adopted); n != 1 {
			t.Errorf("canary %s has %d %s events, want 1", name, n, adopted)
		}
	}
	for _, o := range []*framework.Operator{op, again} {
		if lines := o.ErrorLines(); len(lines) > 0 {
			t.Errorf("operator logged errors:\n%s", strings.Join(lines, "\n"))
		}
	}
}

// Flagger's finalizer holds a canary with revertOnDeletion; Serin honours
// it: deleting the canary scales the target back up, hands the apex
// service back to it, and then releases the canary.
func TestDeletingACanaryHeldByFlaggersFinalizerRevertsIt(t *testing.T) {
	e := framework.Get()
	ns := e.Namespace(t)
	rcv := receiver{framework.NewHookReceiver(t)}
	f := flaggerCanary{name: "podinfo", phase: flaggerv1.CanaryPhaseSucceeded,
		targetImage: "stefanprodan/podinfo:3.1.1", primaryImage: "stefanprodan/podinfo:3.1.1"}
	canary := f.build(t, ns, rcv)
	waitAvailable(t, ns, "podinfo-primary")
	e.StartOperator(t, "--namespace="+ns)
	framework.Eventually(t, 30*time.Second, "the operator to reconcile the canary", func(ctx context.Context) (bool, string) {
		c := &flaggerv1.Canary{}
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(canary), c); err != nil {
			return false, err.Error()
		}
		return meta.IsStatusConditionTrue(c.Status.Conditions, flaggerv1.ReadyCondition), fmt.Sprintf("conditions %+v", c.Status.Conditions)
	})
	if err := e.Client.Delete(context.Background(), canary); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, "the canary to be reverted and deleted", func(ctx context.Context) (bool, string) {
		err := e.Client.Get(ctx, client.ObjectKeyFromObject(canary), &flaggerv1.Canary{})
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		c := &flaggerv1.Canary{}
		_ = e.Client.Get(ctx, client.ObjectKeyFromObject(canary), c)
		return false, fmt.Sprintf("canary still there: finalizers %v, phase %s, conditions %+v", c.Finalizers, c.Status.Phase, c.Status.Conditions)
	})
	target, apex := &appsv1.Deployment{}, &corev1.Service{}
	framework.MustGet(t, ns, "podinfo", target)
	framework.MustGet(t, ns, "podinfo", apex)
	if *target.Spec.Replicas != 2 || apex.Spec.Selector["app"] != "podinfo" {
		t.Errorf("after deletion the target has %d replicas (want the primary's 2) and the apex service selects %v (want app=podinfo)",
			*target.Spec.Replicas, apex.Spec.Selector)
	}
	// Event webhooks hear of the deletion, as in Flagger; no other hook
	// is called.
	calls := rcv.callsOf("podinfo")
	delete(calls, string(flaggerv1.EventHook))
	if len(calls) > 0 {
		t.Errorf("webhooks called %v, want none but event webhooks", calls)
	}
}

// waitAvailable waits until the Deployments have rolled out, so that
// nothing but the operator writes them afterwards.
func waitAvailable(t *testing.T, ns string, names ...string) {
	t.Helper()
	framework.Eventually(t, 60*time.Second, "the deployments to roll out", func(ctx context.Context) (bool, string) {
		for _, name := range names {
			d := &appsv1.Deployment{}
			if err := framework.Get().Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
				return false, err.Error()
			}
			if d.Status.ObservedGeneration != d.Generation || d.Status.AvailableReplicas != *d.Spec.Replicas || d.Status.UpdatedReplicas != *d.Spec.Replicas {
				return false, fmt.Sprintf("%s: %d of %d replicas available", name, d.Status.AvailableReplicas, *d.Spec.Replicas)
			}
		}
		return true, ""
	})
}

// assertStatus checks a migrated status: the phase kept, Serin's own
// revision hash in place of Flagger's, promoted or not.
func assertStatus(t *testing.T, ns, name string, phase flaggerv1.CanaryPhase, promoted bool) {
	t.Helper()
	c := &flaggerv1.Canary{}
	framework.MustGet(t, ns, name, c)
	s := c.Status
	flaggers := []string{flaggerHash("stefanprodan/podinfo:3.1.1"), flaggerHash("stefanprodan/podinfo:3.0.2")}
	if s.Phase != phase || s.LastAppliedSpec == "" || slices.Contains(flaggers, s.LastAppliedSpec) || (s.LastPromotedSpec == s.LastAppliedSpec) != promoted {
		t.Errorf("canary %s: phase %s, lastAppliedSpec %q, lastPromotedSpec %q; want %s with Serin's hashes (promoted %v)",
			name, s.Phase, s.LastAppliedSpec, s.LastPromotedSpec, phase, promoted)
	}
	if s.TrackedConfigs == nil || len(*s.TrackedConfigs) != 2 || (*s.TrackedConfigs)["configmap/"+name+"-config"] == flaggerChecksum(map[string]string{"color": configData}) {
		t.Errorf("canary %s tracks configs %v, want Serin's checksums of its ConfigMap and Secret", name, s.TrackedConfigs)
	}
}

// events counts the canary's events with reason.
func events(t *testing.T, ns, name, reason string) int {
	t.Helper()
	list := &corev1.EventList{}
	if err := framework.Get().Client.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range list.Items {
		if ev.InvolvedObject.Name == name && ev.InvolvedObject.Kind == "Canary" && ev.Reason == reason {
			n += max(1, int(ev.Count))
		}
	}
	return n
}

// weightRecorder keeps each distinct status.canaryWeight of a canary, in
// order, from a watch started before the operator.
type weightRecorder struct {
	mu      sync.Mutex
	weights []int
}

func recordWeights(t *testing.T, ns, name string) *weightRecorder {
	rec := &weightRecorder{}
	framework.Get().Watch(t, &flaggerv1.CanaryList{}, func(_ context.Context, ev watch.Event) {
		c, ok := ev.Object.(*flaggerv1.Canary)
		if !ok || c.Name != name {
			return
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if n := len(rec.weights); n == 0 || rec.weights[n-1] != c.Status.CanaryWeight {
			rec.weights = append(rec.weights, c.Status.CanaryWeight)
		}
	}, client.InNamespace(ns))
	return rec
}

func (w *weightRecorder) sequence() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.weights)
}
