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

// finalizer holds a Canary with revertOnDeletion until its target runs
// again and takes the traffic.
const finalizer = "flagger.app/finalizer"

// syncFinalizer adds the finalizer when revertOnDeletion is set and
// removes it when it is not.
func (r *CanaryReconciler) syncFinalizer(ctx context.Context, c *flaggerv1.Canary) error {
	want := c.Spec.RevertOnDeletion
	if controllerutil.ContainsFinalizer(c, finalizer) == want {
		return nil
	}
	patch := client.MergeFrom(c.DeepCopy())
	if want {
		controllerutil.AddFinalizer(c, finalizer)
	} else {
		controllerutil.RemoveFinalizer(c, finalizer)
	}
	if err := r.Patch(ctx, c, patch); err != nil {
		return fmt.Errorf("update finalizers of %s: %w", c, err)
	}
	return nil
}

// finalize reverts a deleted canary: the target scales back up, the apex
// service selects its pods and stops being owned by the Canary (so it
// survives), and the routing sends all traffic to it. Everything else the
// Canary owns is then garbage-collected.
func (r *CanaryReconciler) finalize(ctx context.Context, c *flaggerv1.Canary) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(c, finalizer) {
		return ctrl.Result{}, nil
	}
	if c.Status.Phase != flaggerv1.CanaryPhaseTerminating {
		c.Status.Phase = flaggerv1.CanaryPhaseTerminating
		c.Status.LastTransitionTime = metav1.NewTime(r.now())
	}
	s, err := r.newScope(ctx, c)
	var p *problem
	if errors.As(err, &p) && p.reason == "TargetNotFound" {
		// Nothing left to revert to.
		return ctrl.Result{}, r.dropFinalizer(ctx, c)
	}
	if err != nil {
		return ctrl.Result{}, r.reportProblem(ctx, c, err)
	}
	if s.target.Spec.Replicas == nil || *s.target.Spec.Replicas == 0 {
		if err := r.scaleTo(ctx, s.target, r.primaryReplicas(ctx, c, s)); err != nil {
			return ctrl.Result{}, err
		}
	}
	if rd := workload.DeploymentReadiness(s.target, 100); !rd.Ready {
		r.setCondition(c, flaggerv1.ReadyCondition, metav1.ConditionFalse, "Terminating", "Waiting for the target to run before deletion: "+rd.Message)
		return ctrl.Result{RequeueAfter: c.GetInterval()}, nil
	}
	if err := s.router.Finalize(ctx, c); err != nil && !isMissingKind(err) {
		return ctrl.Result{}, fmt.Errorf("finalize routing: %w", err)
	}
	if err := r.Services.Revert(ctx, c, s.labelKey, s.labelValue); err != nil {
		return ctrl.Result{}, err
	}
	c.Status.Phase = flaggerv1.CanaryPhaseTerminated
	r.info(ctx, c, "Terminated", "Canary %s deleted: traffic and the apex service were handed back to %s", c, s.target.Name)
	return ctrl.Result{}, r.dropFinalizer(ctx, c)
}

// primaryReplicas is the capacity the target gets back: the primary's.
func (r *CanaryReconciler) primaryReplicas(ctx context.Context, c *flaggerv1.Canary, s *scope) int32 {
	primary := &appsv1.Deployment{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: workload.PrimaryName(s.target.Name)}, primary); err != nil {
		return 1
	}
	return scaleUpReplicas(primary)
}

func (r *CanaryReconciler) dropFinalizer(ctx context.Context, c *flaggerv1.Canary) error {
	patch := client.MergeFrom(c.DeepCopy())
	controllerutil.RemoveFinalizer(c, finalizer)
	if err := r.Patch(ctx, c, patch); err != nil {
		return fmt.Errorf("remove finalizer of %s: %w", c, err)
	}
	return nil
}

func isMissingKind(err error) bool {
	var m *router.MissingKindError
	return errors.As(err, &m)
}

func routerWeights(w analysis.Weights) router.Weights {
	return router.Weights{Primary: w.Primary, Canary: w.Canary}
}
