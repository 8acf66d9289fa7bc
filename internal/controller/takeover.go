package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/serin-dev/serin/internal/analysis"
	"github.com/serin-dev/serin/internal/takeover"
	"github.com/serin-dev/serin/internal/workload"
)

// takeOver migrates, once, the status of a canary Flagger reconciled to
// Serin's revision fields (see package takeover), before anything acts on
// it: the analysis step that follows in the same reconcile then sees
// nothing new for a promoted or failed canary, and the release's own
// weight for one in progress.
func (r *CanaryReconciler) takeOver(ctx context.Context, s *scope, persist func() error) error {
	c := s.canary
	if !takeover.WrittenByFlagger(c.Status) {
		return nil
	}
	configs, err := r.readConfigs(ctx, c, s.target)
	if err != nil {
		return err
	}
	runs, err := r.primaryRunsTarget(ctx, s, configs)
	if err != nil {
		return err
	}
	d := takeover.Decide(c, takeover.Observation{
		Now: r.now(), Provider: s.provider, PrimaryRunsTarget: runs,
		Target: analysis.Revision{TemplateHash: workload.TemplateHash(&s.target.Spec.Template), Configs: checksums(configs)},
	})
	if d.Action == takeover.None {
		return nil
	}
	c.Status = d.Status
	// Written before the event, so that a reconcile on a stale cache
	// cannot announce the takeover twice: its status write conflicts.
	if err := persist(); err != nil {
		return err
	}
	// A log line and a Kubernetes event, but no notification: adopting a
	// canary is not a release event, and event webhooks (a team's chat)
	// should not hear from every canary of a cluster at migration.
	ctrl.LoggerFrom(ctx).Info(d.Message, "canary", c.String(), "reason", takeover.Condition)
	r.Recorder.Eventf(c, corev1.EventTypeNormal, takeover.Condition, "%s", d.Message)
	return nil
}

// primaryRunsTarget reports whether the primary runs what Serin would
// promote from the target now: the same pod template (Flagger's flagger-id
// aside) and primary copies of the tracked configs with the target's data.
func (r *CanaryReconciler) primaryRunsTarget(ctx context.Context, s *scope, configs []trackedConfig) (bool, error) {
	c := s.canary
	primary := &appsv1.Deployment{}
	name := workload.PrimaryName(s.target.Name)
	if err := r.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: name}, primary); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("get primary %s: %w", name, err)
	}
	want := primary.DeepCopy()
	s.primarySpec(configs).ApplyTemplate(want)
	if !workload.SameTemplate(&want.Spec.Template, &primary.Spec.Template) {
		return false, nil
	}
	for _, tc := range configs {
		copyName := workload.PrimaryName(tc.ref.Name)
		obj, err := r.readConfig(ctx, tc.ref, client.ObjectKey{Namespace: c.Namespace, Name: copyName})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("read %s %s: %w", tc.ref.Kind, copyName, err)
		}
		if configChecksum(obj) != tc.sum {
			return false, nil
		}
	}
	return true, nil
}

// configChecksum is the checksum of a ConfigMap's or Secret's data.
func configChecksum(obj client.Object) string {
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		return workload.Checksum(o.Data, o.BinaryData)
	case *corev1.Secret:
		return workload.Checksum(nil, o.Data)
	}
	return ""
}
