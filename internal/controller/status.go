package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// setPhase moves the canary to phase and sets the Promoted condition with
// the phase as reason, as Flagger does.
func (r *CanaryReconciler) setPhase(c *flaggerv1.Canary, phase flaggerv1.CanaryPhase, status metav1.ConditionStatus, message string) {
	if c.Status.Phase != phase {
		c.Status.Phase = phase
		c.Status.LastTransitionTime = metav1.NewTime(r.now())
	}
	r.setCondition(c, flaggerv1.PromotedCondition, status, string(phase), message)
}

func (r *CanaryReconciler) setCondition(c *flaggerv1.Canary, typ string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&c.Status.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: message,
		ObservedGeneration: c.Generation, LastTransitionTime: metav1.NewTime(r.now()),
	})
	c.Status.ObservedGeneration = c.Generation
}

// setReady records a successful reconcile.
func (r *CanaryReconciler) setReady(c *flaggerv1.Canary) {
	r.setCondition(c, flaggerv1.ReadyCondition, metav1.ConditionTrue, "Reconciled", "The operator reconciles this canary.")
}

// reportProblem turns an error into a Ready=False condition and a Warning
// event, and returns it so the work queue retries with backoff.
func (r *CanaryReconciler) reportProblem(ctx context.Context, c *flaggerv1.Canary, err error) error {
	p := asProblem(err)
	r.setCondition(c, flaggerv1.ReadyCondition, metav1.ConditionFalse, p.reason, p.message)
	if c.Status.Phase == "" {
		r.setPhase(c, flaggerv1.CanaryPhaseInitializing, metav1.ConditionUnknown, p.message)
	}
	r.Recorder.Eventf(c, corev1.EventTypeWarning, p.reason, "%s", p.message)
	ctrl.LoggerFrom(ctx).Info(p.message, "canary", c.String(), "reason", p.reason, "stalled", p.stalled)
	return err
}

// info records a decision a user should see: a log line and a Normal
// event with the same words.
func (r *CanaryReconciler) info(ctx context.Context, c *flaggerv1.Canary, reason, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	ctrl.LoggerFrom(ctx).Info(msg, "canary", c.String(), "reason", reason)
	r.Recorder.Eventf(c, corev1.EventTypeNormal, reason, "%s", msg)
}
