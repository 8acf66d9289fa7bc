package controller

import (
	"context"
	"fmt"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
)

// holder returns the canary that releases c's target: the oldest of the
// canaries naming it (analysis.Holder). Two canaries driving one
// Deployment would fight over its replicas and break the flagger_*
// metrics, so only the holder acts.
func (r *CanaryReconciler) holder(ctx context.Context, c *flaggerv1.Canary) (*flaggerv1.Canary, error) {
	var list flaggerv1.CanaryList
	if err := r.List(ctx, &list, client.InNamespace(c.Namespace), client.MatchingFields{targetIndex: c.Spec.TargetRef.Name}); err != nil {
		return nil, fmt.Errorf("list canaries targeting %s: %w", c.Spec.TargetRef.Name, err)
	}
	if h := analysis.Holder(list.Items); h != nil {
		return h, nil
	}
	// The cache has not seen c yet.
	return c, nil
}

// refuseSharedTarget returns a terminal problem when another canary
// already releases c's target; c then changes nothing until that canary
// is deleted (which enqueues c).
func (r *CanaryReconciler) refuseSharedTarget(ctx context.Context, c *flaggerv1.Canary) error {
	h, err := r.holder(ctx, c)
	if err != nil {
		return err
	}
	if h.UID == c.UID {
		return nil
	}
	return &problem{reason: "TargetInUse", stalled: true, terminal: true, message: fmt.Sprintf(
		"%s %s is already released by canary %s, created before this one: delete one of the two canaries",
		c.Spec.TargetRef.Kind, c.Spec.TargetRef.Name, h.Name)}
}

// canariesSharingTarget maps a canary to the others naming its target, so
// that a refused canary takes over when the holder goes.
func (r *CanaryReconciler) canariesSharingTarget(ctx context.Context, o client.Object) []reconcile.Request {
	c, ok := o.(*flaggerv1.Canary)
	if !ok {
		return nil
	}
	var list flaggerv1.CanaryList
	if err := r.List(ctx, &list, client.InNamespace(c.Namespace), client.MatchingFields{targetIndex: c.Spec.TargetRef.Name}); err != nil {
		return nil
	}
	others := slices.DeleteFunc(list.Items, func(other flaggerv1.Canary) bool { return other.UID == c.UID })
	return requests(others)
}
