package controller

import (
	"context"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
	"github.com/serin-dev/serin/internal/gitops"
	"github.com/serin-dev/serin/internal/workload"
)

// initialize creates the primary workload, its configs, autoscaler and the
// routing; once the primary is available it scales the target to zero and
// marks the canary Initialized. Each step is idempotent, so a restart at
// any point resumes where it stopped.
func (r *CanaryReconciler) initialize(ctx context.Context, s *scope, persist func() error) (ctrl.Result, error) {
	c := s.canary
	configs, err := r.readConfigs(ctx, c, s.target)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.copyConfigs(ctx, c, configs); err != nil {
		return ctrl.Result{}, err
	}
	// Routing first: App Mesh's sidecar injector needs the virtual nodes
	// before primary pods start.
	if err := r.reconcileRouting(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	spec := s.primarySpec(configs)
	primary, err := r.ensurePrimary(ctx, c, spec)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.reconcilePrimaryAutoscaler(ctx, c); err != nil {
		return ctrl.Result{}, err
	}
	readyPerc := flaggerv1.DefaultReadyPerc
	if a := c.GetAnalysis(); a != nil && a.PrimaryReadyThreshold != nil {
		readyPerc = *a.PrimaryReadyThreshold
	}
	if rd := workload.DeploymentReadiness(primary, readyPerc); !rd.Ready {
		r.setPhase(c, flaggerv1.CanaryPhaseInitializing, metav1.ConditionUnknown, rd.Message)
		r.markReconciling(c, string(flaggerv1.CanaryPhaseInitializing), rd.Message)
		// The primary's status changes enqueue the canary; the interval is
		// only a fallback.
		return ctrl.Result{RequeueAfter: c.GetInterval()}, nil
	}
	if err := r.scaleTarget(ctx, s, 0); err != nil {
		return ctrl.Result{}, err
	}
	hash := workload.TemplateHash(&s.target.Spec.Template)
	c.Status.LastAppliedSpec, c.Status.LastPromotedSpec = hash, hash
	c.Status.TrackedConfigs = analysis.TrackedConfigs(checksums(configs))
	c.Status.CanaryWeight, c.Status.FailedChecks, c.Status.Iterations = 0, 0, 0
	c.Status.PrimaryReplicas = primary.Spec.Replicas
	r.setPhase(c, flaggerv1.CanaryPhaseInitialized, metav1.ConditionTrue, "Deployment initialization completed.")
	meta.RemoveStatusCondition(&c.Status.Conditions, flaggerv1.ReconcilingCondition)
	r.setReady(c)
	// Written before the event, so a reconcile on a stale cache cannot
	// announce the initialization twice: its status write conflicts.
	if err := persist(); err != nil {
		return ctrl.Result{}, err
	}
	r.info(ctx, c, "Initialized", "Initialization done! %s", c)
	return ctrl.Result{}, nil
}

func kindName(k workload.ConfigKind) string {
	if k == workload.ConfigMapKind {
		return "ConfigMap"
	}
	return "Secret"
}

// reconcilePrimaryAutoscaler keeps <hpa>-primary a copy of the target's
// autoscaler aimed at the primary.
func (r *CanaryReconciler) reconcilePrimaryAutoscaler(ctx context.Context, c *flaggerv1.Canary) error {
	ref := c.Spec.AutoscalerRef
	if ref == nil {
		return nil
	}
	src := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: ref.Name}, src); err != nil {
		if apierrors.IsNotFound(err) {
			return &problem{reason: "AutoscalerNotFound", message: fmt.Sprintf(
				"HorizontalPodAutoscaler %s not found in namespace %s: create it or correct spec.autoscalerRef.name", ref.Name, c.Namespace)}
		}
		return fmt.Errorf("get autoscaler %s: %w", ref.Name, err)
	}
	dst := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: workload.PrimaryName(ref.Name), Namespace: c.Namespace}}
	_, err := controllerutil.CreateOrPatch(ctx, r.Client, dst, func() error {
		dst.Labels = r.Copy.Labels(src)
		dst.Annotations = gitops.WithMarkers(gitops.CopiedAnnotations(src))
		spec := src.Spec.DeepCopy()
		spec.ScaleTargetRef.Name = workload.PrimaryName(c.Spec.TargetRef.Name)
		if p := ref.PrimaryScalerReplicas; p != nil {
			if p.MinReplicas != nil {
				spec.MinReplicas = p.MinReplicas
			}
			if p.MaxReplicas != nil {
				spec.MaxReplicas = *p.MaxReplicas
			}
		}
		dst.Spec = *spec
		return controllerutil.SetControllerReference(c, dst, r.Scheme)
	})
	if err != nil {
		return fmt.Errorf("reconcile autoscaler %s: %w", dst.Name, err)
	}
	return nil
}

// scaleTarget patches the target's replicas when they differ, unless
// this process already did so from the cached version it still sees (a
// reconcile started by the event of the status write that came before the
// patch); then only the object in hand is updated, as the patch would.
func (r *CanaryReconciler) scaleTarget(ctx context.Context, s *scope, replicas int32) error {
	d, key := s.target, client.ObjectKeyFromObject(s.canary)
	if d.Spec.Replicas != nil && *d.Spec.Replicas == replicas {
		return nil
	}
	from := d.ResourceVersion
	if r.writes.scaledAlready(key, d.Name, from, replicas) {
		d.Spec.Replicas = &replicas
		return nil
	}
	patch := client.MergeFrom(d.DeepCopy())
	d.Spec.Replicas = &replicas
	if err := r.Patch(ctx, d, patch); err != nil {
		return fmt.Errorf("scale %s to %d: %w", d.Name, replicas, err)
	}
	r.writes.scaled(key, d.Name, from, replicas)
	return nil
}
