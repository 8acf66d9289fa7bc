package controller

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Invalid configuration stalls the canary: Stalled and Ready=False with a
// message for people, and a terminal error, so the work queue does not
// retry (and log) until something changes.
func TestInvalidConfigurationStallsWithATerminalError(t *testing.T) {
	f := newRelease(inPhase(""))
	f.target.Spec.Selector.MatchLabels = map[string]string{"tier": "web"}
	e := newEnv(t, withObjects(f.canary, f.target))
	_, err := e.reconcile()
	if !errors.Is(err, reconcile.TerminalError(nil)) {
		t.Fatalf("error %v, want a terminal error", err)
	}
	c := e.canary()
	stalled := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.StalledCondition)
	ready := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.ReadyCondition)
	if stalled == nil || stalled.Status != metav1.ConditionTrue || stalled.Reason != "SelectorLabelMissing" || ready == nil || ready.Status != metav1.ConditionFalse {
		t.Errorf("Stalled %+v, Ready %+v; want Stalled=True SelectorLabelMissing and Ready=False", stalled, ready)
	}
	// Fixed: the next reconcile clears Stalled.
	target := e.deployment("podinfo")
	target.Spec.Selector.MatchLabels = map[string]string{"app": "podinfo"}
	if err := e.client.Update(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	if cond := meta.FindStatusCondition(e.canary().Status.Conditions, flaggerv1.StalledCondition); cond != nil {
		t.Errorf("Stalled %+v after the fix, want none", cond)
	}
}

// An unexpected API error is retried with backoff (returned), and the
// condition says what kind of failure it is, not its raw text.
func TestUnexpectedErrorsAreRetriedAndDescribedForPeople(t *testing.T) {
	f := newRelease(atWeight(20))
	e := newEnv(t, withObjects(f.objects()...), withInterceptor(interceptor.Funcs{
		Create: func(_ context.Context, _ client.WithWatch, obj client.Object, _ ...client.CreateOption) error {
			if _, ok := obj.(*corev1.Service); ok {
				return apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, obj.GetName(), errors.New("RBAC: secret internal detail"))
			}
			return nil
		},
	}))
	_, err := e.reconcile()
	if err == nil || errors.Is(err, reconcile.TerminalError(nil)) {
		t.Fatalf("error %v, want the API error back for a retry with backoff", err)
	}
	cond := meta.FindStatusCondition(e.canary().Status.Conditions, flaggerv1.ReadyCondition)
	if cond == nil || cond.Status != metav1.ConditionFalse || strings.Contains(cond.Message, "secret internal detail") || !strings.Contains(cond.Message, "RBAC") {
		t.Errorf("Ready %+v; want False with a description naming RBAC and no raw error", cond)
	}
}

// Of two canaries naming the same Deployment, the older releases it; the
// other is refused, names the first, touches nothing and has no
// finalizer. It takes over when the first is deleted.
func TestASecondCanaryForTheSameTargetIsRefused(t *testing.T) {
	f := newRelease(inPhase(flaggerv1.CanaryPhaseSucceeded), atWeight(0))
	second := &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo-again", Namespace: "test", UID: "uid-second", CreationTimestamp: metav1.NewTime(t0)},
		Spec:       *f.canary.Spec.DeepCopy(),
	}
	e := newEnv(t, withObjects(append(f.objects(), second)...))
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(second)}
	_, err := e.r.Reconcile(context.Background(), req)
	if !errors.Is(err, reconcile.TerminalError(nil)) {
		t.Fatalf("error %v, want a terminal error", err)
	}
	got := &flaggerv1.Canary{}
	if err := e.client.Get(context.Background(), req.NamespacedName, got); err != nil {
		t.Fatal(err)
	}
	cond := meta.FindStatusCondition(got.Status.Conditions, flaggerv1.StalledCondition)
	if cond == nil || cond.Reason != "TargetInUse" || !strings.Contains(cond.Message, "already released by canary podinfo,") {
		t.Errorf("Stalled %+v, want TargetInUse naming canary podinfo", cond)
	}
	if len(got.Finalizers) != 0 || len(e.j.all()) != 2 { // the status write and the warning event
		t.Errorf("the refused canary changed something: finalizers %v, journal:\n%s", got.Finalizers, strings.Join(e.j.all(), "\n"))
	}
	if reqs := e.r.canariesSharingTarget(context.Background(), f.canary); len(reqs) != 1 || reqs[0].Name != "podinfo-again" {
		t.Errorf("a change of the first canary enqueues %v, want podinfo-again", reqs)
	}
	first := e.canary()
	first.Finalizers = nil
	if err := e.client.Update(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	if err := e.client.Delete(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	res, err := e.r.Reconcile(context.Background(), req)
	if err != nil || res.RequeueAfter > time.Minute {
		t.Fatalf("after the first canary went: result %+v, error %v", res, err)
	}
	if err := e.client.Get(context.Background(), req.NamespacedName, got); err != nil {
		t.Fatal(err)
	}
	if meta.FindStatusCondition(got.Status.Conditions, flaggerv1.StalledCondition) != nil || len(got.Finalizers) != 1 {
		t.Errorf("the second canary did not take over: conditions %+v, finalizers %v", got.Status.Conditions, got.Finalizers)
	}
}
