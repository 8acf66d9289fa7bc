package controller

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/internal/workload"
)

const (
	// finalizer holds every Canary until its target runs again and takes
	// the traffic, so deleting a Canary never leaves a service without
	// pods.
	finalizer = "flagger.app/finalizer"
	// flaggerFinalizer is Flagger's name for it, on Canaries Flagger
	// managed: honoured the same way, and removed with Serin's.
	flaggerFinalizer = "finalizer.flagger.app"
)

// syncFinalizer adds the finalizer to a canary that lacks it.
func (r *CanaryReconciler) syncFinalizer(ctx context.Context, c *flaggerv1.Canary) error {
	// Flagger's finalizer does the same job; a second one would keep a
	// canary from being deleted if Flagger ran again.
	if hasFinalizer(c) {
		return nil
	}
	patch := client.MergeFrom(c.DeepCopy())
	controllerutil.AddFinalizer(c, finalizer)
	if err := r.Patch(ctx, c, patch); err != nil {
		return fmt.Errorf("add finalizer to %s: %w", c, err)
	}
	return nil
}

// finalize hands the traffic back to the target before the garbage
// collector removes what the Canary generated: the target scales back up
// to the primary's replicas, and once it is available the routes send all
// traffic to it and the apex service selects its pods. With
// revertOnDeletion the apex service is also released from the Canary, so
// it survives; without, it goes with the rest. A target that never
// becomes available keeps the Canary (and the primary, which serves
// meanwhile) until it does; a target that is gone or being deleted, or a
// primary that serves nothing, has nothing to protect.
func (r *CanaryReconciler) finalize(ctx context.Context, c *flaggerv1.Canary, persist func() error) (ctrl.Result, error) {
	if !hasFinalizer(c) {
		return ctrl.Result{}, nil
	}
	if c.Status.Phase != flaggerv1.CanaryPhaseTerminating {
		c.Status.Phase = flaggerv1.CanaryPhaseTerminating
		c.Status.LastTransitionTime = metav1.NewTime(r.now())
	}
	s, err := r.newScope(ctx, c)
	var p *problem
	if errors.As(err, &p) && p.reason == "TargetNotFound" || err == nil && !s.target.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.dropFinalizers(ctx, c, persist)
	}
	if errors.As(err, &p) && p.stalled {
		// Misconfigured from the start or since: nothing to hand back.
		r.reportProblem(ctx, c, p)
		return ctrl.Result{}, r.dropFinalizers(ctx, c, persist)
	}
	if err != nil {
		return r.handleProblem(ctx, s, err, persist)
	}
	if holder, err := r.holder(ctx, c); err != nil || holder.UID != c.UID {
		// A refused duplicate never touched the target.
		return ctrl.Result{}, errors.Join(err, r.dropFinalizers(ctx, c, persist))
	}
	primary, primaryServes := r.servingPrimary(ctx, s)
	if s.target.Spec.Replicas == nil || *s.target.Spec.Replicas == 0 {
		if err := r.scaleTarget(ctx, s, r.handBackReplicas(c, primary)); err != nil {
			return ctrl.Result{}, err
		}
	}
	if rd := workload.DeploymentReadiness(s.target, 100); !rd.Ready && primaryServes {
		r.markReconciling(c, string(flaggerv1.CanaryPhaseTerminating), "Waiting for the target to be available before the canary is deleted: "+rd.Message)
		return ctrl.Result{RequeueAfter: c.GetInterval()}, nil
	}
	if err := s.router.Finalize(ctx, c); err != nil && !isMissingKind(err) {
		return ctrl.Result{}, fmt.Errorf("finalize routing: %w", err)
	}
	if err := r.Services.Revert(ctx, c, s.labelKey, s.labelValue, c.Spec.RevertOnDeletion); err != nil {
		return ctrl.Result{}, err
	}
	c.Status.Phase = flaggerv1.CanaryPhaseTerminated
	r.info(ctx, c, "Terminated", "Canary %s deleted: traffic was handed back to %s", c, s.target.Name)
	return ctrl.Result{}, r.dropFinalizers(ctx, c, persist)
}

// servingPrimary reads the primary and reports whether it has pods
// available, i.e. whether there is traffic to protect.
func (r *CanaryReconciler) servingPrimary(ctx context.Context, s *scope) (*appsv1.Deployment, bool) {
	primary := &appsv1.Deployment{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: s.canary.Namespace, Name: workload.PrimaryName(s.target.Name)}, primary); err != nil {
		return nil, false
	}
	return primary, primary.Status.AvailableReplicas > 0
}

// handBackReplicas is the capacity the target gets back: the primary's,
// or the primary's last seen when it is gone.
func (r *CanaryReconciler) handBackReplicas(c *flaggerv1.Canary, primary *appsv1.Deployment) int32 {
	if primary != nil {
		return scaleUpReplicas(primary)
	}
	if n := c.Status.PrimaryReplicas; n != nil && *n > 0 {
		return *n
	}
	return 1
}

// dropFinalizers writes the last status, then removes Serin's and
// Flagger's finalizers; the garbage collector does the rest.
func (r *CanaryReconciler) dropFinalizers(ctx context.Context, c *flaggerv1.Canary, persist func() error) error {
	analysis.ClearReconciling(&c.Status)
	if err := persist(); err != nil {
		return err
	}
	patch := client.MergeFrom(c.DeepCopy())
	controllerutil.RemoveFinalizer(c, finalizer)
	controllerutil.RemoveFinalizer(c, flaggerFinalizer)
	if err := r.Patch(ctx, c, patch); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("remove finalizers of %s: %w", c, err)
	}
	return nil
}

// hasFinalizer reports whether Serin's or Flagger's finalizer holds the
// canary.
func hasFinalizer(c *flaggerv1.Canary) bool {
	return controllerutil.ContainsFinalizer(c, finalizer) || controllerutil.ContainsFinalizer(c, flaggerFinalizer)
}

func isMissingKind(err error) bool {
	var m *router.MissingKindError
	return errors.As(err, &m)
}

func routerWeights(w analysis.Weights) router.Weights {
	return router.Weights{Primary: w.Primary, Canary: w.Canary, Mirrored: w.Mirrored}
}
