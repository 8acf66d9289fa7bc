package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// apexService is the apex service as the canary generated it.
func apexService(c *flaggerv1.Canary) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "flagger.app/v1beta1", Kind: "Canary", Name: c.Name, UID: c.UID, Controller: ptrTo(true)}}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "podinfo-primary"}},
	}
}

// deleting marks the canary deleted (it keeps its finalizers).
func deleting(finalizers ...string) canaryOpt {
	return func(c *flaggerv1.Canary) {
		c.Finalizers = finalizers
		c.DeletionTimestamp = &metav1.Time{Time: t0}
	}
}

// Deleting a canary, with or without revertOnDeletion and whichever
// operator gave it its finalizer, first scales the target back to the
// primary's replicas and waits until it is available; only then do the
// routes and the apex service move to it and the finalizers go.
func TestDeletingACanaryHandsTheTrafficBackFirst(t *testing.T) {
	cases := map[string]struct {
		revert     bool
		finalizers []string
		// wantOwned is whether the apex service stays owned by the canary
		// (and is garbage-collected with it).
		wantOwned bool
	}{
		"without revertOnDeletion":              {finalizers: []string{finalizer}, wantOwned: true},
		"with revertOnDeletion":                 {revert: true, finalizers: []string{finalizer}},
		"with only Flagger's finalizer":         {finalizers: []string{flaggerFinalizer}, wantOwned: true},
		"with Serin's and Flagger's finalizers": {revert: true, finalizers: []string{finalizer, flaggerFinalizer}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newRelease(inPhase(flaggerv1.CanaryPhaseSucceeded), atWeight(0), deleting(tc.finalizers...),
				func(c *flaggerv1.Canary) { c.Spec.RevertOnDeletion = tc.revert })
			zero := int32(0)
			f.target.Spec.Replicas = &zero
			f.target.Status = appsv1.DeploymentStatus{ObservedGeneration: 1}
			e := newEnv(t, withObjects(f.canary, f.target, f.primary, apexService(f.canary)))
			e.routes["fake"].exists = true

			if _, err := e.reconcile(); err != nil {
				t.Fatal(err)
			}
			if got := *e.deployment("podinfo").Spec.Replicas; got != 2 {
				t.Fatalf("target scaled to %d, want the primary's 2", got)
			}
			if e.j.index("fake: routes to the target") >= 0 || len(e.canary().Finalizers) == 0 {
				t.Fatalf("traffic handed back before the target is available:\n%s", strings.Join(e.j.all(), "\n"))
			}

			target := e.deployment("podinfo")
			target.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2, ReadyReplicas: 2}
			if err := e.client.Status().Update(context.Background(), target); err != nil {
				t.Fatal(err)
			}
			if _, err := e.reconcile(); err != nil {
				t.Fatal(err)
			}
			e.j.assertOrder(t, "patch deployment podinfo replicas 2", "fake: routes to the target", "event Normal Terminated", "patch canary finalizers []")
			svc := &corev1.Service{}
			if err := e.client.Get(context.Background(), client.ObjectKey{Namespace: "test", Name: "podinfo"}, svc); err != nil {
				t.Fatal(err)
			}
			if svc.Spec.Selector["app"] != "podinfo" || (len(svc.OwnerReferences) == 1) != tc.wantOwned {
				t.Errorf("apex service selects %v, owners %v; want app=podinfo, owned: %v", svc.Spec.Selector, svc.OwnerReferences, tc.wantOwned)
			}
			if err := e.client.Get(context.Background(), client.ObjectKey{Namespace: "test", Name: "podinfo"}, &flaggerv1.Canary{}); !apierrors.IsNotFound(err) {
				t.Errorf("the canary is still there after its finalizers went: %v", err)
			}
		})
	}
}

// A canary whose target is gone, or whose primary serves nothing, has no
// traffic to protect: it goes at once.
func TestDeletingACanaryWithNothingToProtectIsImmediate(t *testing.T) {
	cases := map[string]func(f *release) []client.Object{
		"the target is gone":         func(f *release) []client.Object { return []client.Object{f.canary, f.primary} },
		"the primary serves nothing": func(f *release) []client.Object { notAvailable(f.primary); notAvailable(f.target); return f.objects() },
		"the target is being deleted": func(f *release) []client.Object {
			f.target.Finalizers = []string{"x"}
			f.target.DeletionTimestamp = &metav1.Time{Time: t0}
			return f.objects()
		},
		"the canary was never set up": func(f *release) []client.Object {
			f.canary.Status = flaggerv1.CanaryStatus{}
			return []client.Object{f.canary, f.target}
		},
	}
	for name, objs := range cases {
		t.Run(name, func(t *testing.T) {
			f := newRelease(inPhase(flaggerv1.CanaryPhaseSucceeded), deleting(finalizer, flaggerFinalizer))
			e := newEnv(t, withObjects(objs(&f)...))
			e.routed(100, 0)
			if err := e.reconcileWithin(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			if err := e.client.Get(context.Background(), client.ObjectKey{Namespace: "test", Name: "podinfo"}, &flaggerv1.Canary{}); !apierrors.IsNotFound(err) {
				t.Errorf("the canary is still there: %v\n%s", err, strings.Join(e.j.all(), "\n"))
			}
		})
	}
}

// A new canary gets Serin's finalizer, so its deletion is always handled.
func TestEveryCanaryGetsTheFinalizer(t *testing.T) {
	f := newRelease(inPhase(flaggerv1.CanaryPhaseSucceeded), atWeight(0), func(c *flaggerv1.Canary) { c.Finalizers = nil })
	e := newEnv(t, withObjects(f.objects()...))
	e.routed(100, 0)
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	if got := e.canary().Finalizers; len(got) != 1 || got[0] != finalizer {
		t.Errorf("finalizers %v, want [%s]", got, finalizer)
	}
}
