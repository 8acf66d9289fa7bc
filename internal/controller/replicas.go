package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
	"github.com/serin-dev/serin/internal/workload"
)

// FieldManager is the operator's field manager on every write, by which
// managedFields tell its writes from a GitOps tool's.
const FieldManager = "serin"

// ReplicasConflictCondition is True while another field manager keeps
// setting the idle target's replicas (see analysis.DecideScaleDown).
const ReplicasConflictCondition = "ReplicasConflict"

// scaleDown scales the target to zero unless a GitOps tool keeps putting
// its replicas back; then it reports that once instead of fighting.
func (r *CanaryReconciler) scaleDown(ctx context.Context, s *scope, persist func() error) error {
	replicas := int32(1)
	if s.target.Spec.Replicas != nil {
		replicas = *s.target.Spec.Replicas
	}
	d := analysis.DecideScaleDown(s.canary.Status, s.target.Name, replicas, workload.ReplicasWriter(s.target, FieldManager))
	if err := r.reportReplicasConflict(ctx, s.canary, d.Conflict, persist); err != nil {
		return err
	}
	if !d.Scale {
		return nil
	}
	return r.scaleTarget(ctx, s, 0)
}

// reportReplicasConflict sets or clears the ReplicasConflict condition,
// with a Warning event when it is set or its message changes, so a
// conflict that lasts is reported once. The condition is stored before
// the warning goes out: a reconcile of a stale copy of the canary, which
// does not see the stored condition, fails to store it again and so sends
// nothing.
func (r *CanaryReconciler) reportReplicasConflict(ctx context.Context, c *flaggerv1.Canary, conflict string, persist func() error) error {
	current := meta.FindStatusCondition(c.Status.Conditions, ReplicasConflictCondition)
	if conflict == "" {
		meta.RemoveStatusCondition(&c.Status.Conditions, ReplicasConflictCondition)
		return nil
	}
	if current != nil && current.Message == conflict {
		return nil
	}
	r.setCondition(c, ReplicasConflictCondition, metav1.ConditionTrue, "ReplicasSetByFieldManager", conflict)
	if err := persist(); err != nil {
		return err
	}
	r.warn(ctx, c, "ReplicasConflict", "%s", conflict)
	return nil
}
