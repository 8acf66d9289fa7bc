package analysis

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// conditionMessages are the Promoted condition's messages per phase; the
// Reconciling condition uses them too when nothing more precise holds the
// release.
var conditionMessages = map[flaggerv1.CanaryPhase]struct {
	status  metav1.ConditionStatus
	message string
}{
	flaggerv1.CanaryPhaseWaiting:          {metav1.ConditionUnknown, "Waiting for approval."},
	flaggerv1.CanaryPhaseProgressing:      {metav1.ConditionUnknown, "New revision detected, progressing canary analysis."},
	flaggerv1.CanaryPhaseWaitingPromotion: {metav1.ConditionUnknown, "Waiting for approval."},
	flaggerv1.CanaryPhasePromoting:        {metav1.ConditionUnknown, "Canary analysis completed, starting primary rolling update."},
	flaggerv1.CanaryPhaseFinalising:       {metav1.ConditionUnknown, "Canary analysis completed, routing all traffic to primary."},
	flaggerv1.CanaryPhaseSucceeded:        {metav1.ConditionTrue, "Canary analysis completed successfully, promotion finished."},
	flaggerv1.CanaryPhaseFailed:           {metav1.ConditionFalse, "Canary analysis failed, Deployment scaled to zero."},
}

// setPhase changes the phase and the Promoted condition (reason = phase).
func (st *stepper) setPhase(p flaggerv1.CanaryPhase) {
	if st.s.Phase == p {
		return
	}
	st.s.Phase = p
	st.s.LastTransitionTime = st.now()
	cm := conditionMessages[p]
	meta.SetStatusCondition(&st.s.Conditions, metav1.Condition{
		Type: flaggerv1.PromotedCondition, Status: cm.status, Reason: string(p), Message: cm.message,
		ObservedGeneration: st.c.Generation, LastTransitionTime: st.now(),
	})
}

// syncReconciling keeps the Reconciling condition: True while a release
// is under way, with what holds it back as the message; absent when the
// canary is idle.
func (st *stepper) syncReconciling() {
	switch st.s.Phase {
	case flaggerv1.CanaryPhaseInitialized, flaggerv1.CanaryPhaseSucceeded, flaggerv1.CanaryPhaseFailed:
		meta.RemoveStatusCondition(&st.s.Conditions, flaggerv1.ReconcilingCondition)
		return
	}
	msg := st.waiting
	if msg == "" {
		msg = conditionMessages[st.s.Phase].message
	}
	MarkReconciling(&st.s, st.c.Generation, st.obs.Now, string(st.s.Phase), msg)
}

// MarkReconciling sets the Reconciling condition to True with a reason and
// a message for people. A message that only changes in its numbers (pods
// becoming ready one by one) is kept too: it is what users watch (the
// reconciler paces how often such a change alone is written).
func MarkReconciling(s *flaggerv1.CanaryStatus, generation int64, now time.Time, reason, message string) {
	meta.SetStatusCondition(&s.Conditions, metav1.Condition{
		Type: flaggerv1.ReconcilingCondition, Status: metav1.ConditionTrue, Reason: reason, Message: message,
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now),
	})
}

// ClearReconciling removes the Reconciling condition.
func ClearReconciling(s *flaggerv1.CanaryStatus) {
	meta.RemoveStatusCondition(&s.Conditions, flaggerv1.ReconcilingCondition)
}
