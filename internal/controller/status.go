package controller

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
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

// markReconciling says what an initialization or a deletion waits for.
func (r *CanaryReconciler) markReconciling(c *flaggerv1.Canary, reason, message string) {
	analysis.MarkReconciling(&c.Status, c.Generation, r.now(), reason, message)
}

// setReady records a successful reconcile: Ready, and no longer Stalled.
func (r *CanaryReconciler) setReady(c *flaggerv1.Canary) {
	r.setCondition(c, flaggerv1.ReadyCondition, metav1.ConditionTrue, "Reconciled", "The operator reconciles this canary.")
	meta.RemoveStatusCondition(&c.Status.Conditions, flaggerv1.StalledCondition)
}

// reportProblem turns a problem into a Ready=False condition (and
// Stalled=True when only a change can fix it) and a Warning event. The
// raw error, if any, is logged by whoever returns it.
func (r *CanaryReconciler) reportProblem(ctx context.Context, c *flaggerv1.Canary, p *problem) {
	r.setCondition(c, flaggerv1.ReadyCondition, metav1.ConditionFalse, p.reason, p.message)
	if p.stalled {
		r.setCondition(c, flaggerv1.StalledCondition, metav1.ConditionTrue, p.reason, p.message)
	} else {
		meta.RemoveStatusCondition(&c.Status.Conditions, flaggerv1.StalledCondition)
	}
	if c.Status.Phase == "" {
		r.setPhase(c, flaggerv1.CanaryPhaseInitializing, metav1.ConditionUnknown, p.message)
	}
	r.Recorder.Eventf(c, "Warning", p.reason, "%s", p.message)
	ctrl.LoggerFrom(ctx).Info(p.message, "canary", c.String(), "reason", p.reason, "stalled", p.stalled)
}

// info records a decision a user should see: a log line, a Normal event
// and a notification with the same words.
func (r *CanaryReconciler) info(ctx context.Context, c *flaggerv1.Canary, reason, format string, args ...any) {
	r.announce(ctx, c, []analysis.Event{{Kind: reason, Message: fmt.Sprintf(format, args...)}})
}

// warn is info for a Warning.
func (r *CanaryReconciler) warn(ctx context.Context, c *flaggerv1.Canary, reason, format string, args ...any) {
	r.announce(ctx, c, []analysis.Event{{Kind: reason, Warning: true, Message: fmt.Sprintf(format, args...)}})
}

// waitingMessageEvery is how often, at most, a status whose only change is
// what the release waits for is written: "waiting for rollout of app to
// finish: 3 of 10 updated replicas are available" counts pods up one by
// one, and the waits that follow the operator's own writes (a Deployment
// not yet observed by its controller) mostly end within a second. Each
// write costs the API server a validation of the whole Canary; a person
// watching sees the message at most this late.
const waitingMessageEvery = 5 * time.Second

// onlyWaitingChanged reports whether two statuses differ only in the
// message of their Reconciling condition.
func onlyWaitingChanged(before, after *flaggerv1.CanaryStatus) bool {
	b := meta.FindStatusCondition(before.Conditions, flaggerv1.ReconcilingCondition)
	a := meta.FindStatusCondition(after.Conditions, flaggerv1.ReconcilingCondition)
	if b == nil || a == nil || b.Message == a.Message {
		return false
	}
	held := after.DeepCopy()
	meta.FindStatusCondition(held.Conditions, flaggerv1.ReconcilingCondition).Message = b.Message
	return equality.Semantic.DeepEqual(*before, *held)
}
