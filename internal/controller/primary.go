package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/workload"
)

// ensurePrimary creates the primary Deployment if it does not exist. An
// existing primary is left alone: only a promotion changes it.
func (r *CanaryReconciler) ensurePrimary(ctx context.Context, c *flaggerv1.Canary, spec workload.PrimarySpec) (*appsv1.Deployment, error) {
	primary := &appsv1.Deployment{}
	err := r.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: spec.PrimaryName()}, primary)
	if err == nil {
		return primary, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("get primary %s: %w", spec.PrimaryName(), err)
	}
	primary, err = r.createPrimary(ctx, c, spec.NewPrimary())
	if err != nil {
		return nil, err
	}
	r.info(ctx, c, "Initializing", "Deployment %s.%s created", primary.Name, primary.Namespace)
	return primary, nil
}

func (r *CanaryReconciler) createPrimary(ctx context.Context, c *flaggerv1.Canary, primary *appsv1.Deployment) (*appsv1.Deployment, error) {
	if err := controllerutil.SetControllerReference(c, primary, r.Scheme); err != nil {
		return nil, err
	}
	if err := r.Create(ctx, primary); apierrors.IsAlreadyExists(err) {
		// Created by an earlier reconcile the cache has not seen yet.
		return nil, fmt.Errorf("%w: %w", errCacheLag, err)
	} else if err != nil {
		return nil, fmt.Errorf("create primary %s: %w", primary.Name, err)
	}
	return primary, nil
}

// restorePrimary recreates a primary deleted by hand, with the last
// promoted revision: never the target's template while that is a revision
// nobody analysed. The last promoted revision is the target's own
// template when it still runs it (an idle canary after a promotion or
// initialization), else the template of the target's ReplicaSet that ran
// it. The primary comes back with the replicas it was last seen with, and
// uses the -primary copies of the configs that exist.
func (r *CanaryReconciler) restorePrimary(ctx context.Context, s *scope) (*appsv1.Deployment, error) {
	c := s.canary
	tmpl, err := r.promotedTemplate(ctx, s)
	if err != nil {
		return nil, err
	}
	source := s.target.DeepCopy()
	source.Spec.Template = *tmpl
	copies, err := r.configCopies(ctx, c, tmpl)
	if err != nil {
		return nil, err
	}
	spec := workload.PrimarySpec{Target: source, LabelKey: s.labelKey, LabelValue: s.labelValue, TrackedConfig: copies, Copy: s.copyRule}
	primary := spec.NewPrimary()
	if n := c.Status.PrimaryReplicas; n != nil && *n > 0 {
		replicas := *n
		primary.Spec.Replicas = &replicas
	}
	primary, err = r.createPrimary(ctx, c, primary)
	if err != nil {
		return nil, err
	}
	r.warn(ctx, c, "PrimaryRestored", "Deployment %s.%s was deleted: recreated with the last promoted revision of %s and %d replicas",
		primary.Name, primary.Namespace, s.target.Name, *primary.Spec.Replicas)
	return primary, nil
}

// promotedTemplate finds the pod template whose hash is lastPromotedSpec.
func (r *CanaryReconciler) promotedTemplate(ctx context.Context, s *scope) (*corev1.PodTemplateSpec, error) {
	want := s.canary.Status.LastPromotedSpec
	if workload.TemplateHash(&s.target.Spec.Template) == want {
		return s.target.Spec.Template.DeepCopy(), nil
	}
	sel, err := metav1.LabelSelectorAsSelector(s.target.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("selector of %s: %w", s.target.Name, err)
	}
	var sets appsv1.ReplicaSetList
	if err := r.APIReader.List(ctx, &sets, client.InNamespace(s.target.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, fmt.Errorf("list replica sets of %s: %w", s.target.Name, err)
	}
	for i := range sets.Items {
		rs := &sets.Items[i]
		if !metav1.IsControlledBy(rs, s.target) {
			continue
		}
		if tmpl := workload.DeploymentTemplate(rs); workload.TemplateHash(tmpl) == want {
			return tmpl, nil
		}
	}
	return nil, &problem{reason: "PrimaryNotRestorable", message: fmt.Sprintf(
		"Deployment %s was deleted and its last promoted revision is neither the template of %s nor in its ReplicaSet history: "+
			"deploy that revision to %s again, or delete and recreate the canary", workload.PrimaryName(s.target.Name), s.target.Name, s.target.Name)}
}

// configCopies names the configs of tmpl whose -primary copy exists, so
// the restored primary uses the copies, as it did before.
func (r *CanaryReconciler) configCopies(ctx context.Context, c *flaggerv1.Canary, tmpl *corev1.PodTemplateSpec) (map[string]bool, error) {
	out := map[string]bool{}
	for _, ref := range workload.ConfigRefs(&tmpl.Spec) {
		var obj client.Object = &corev1.Secret{}
		if ref.Kind == workload.ConfigMapKind {
			obj = &corev1.ConfigMap{}
		}
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: workload.PrimaryName(ref.Name)}, obj)
		switch {
		case err == nil:
			out[ref.Key()] = true
		case !apierrors.IsNotFound(err):
			return nil, fmt.Errorf("read the primary copy of %s %s: %w", kindName(ref.Kind), ref.Name, err)
		}
	}
	return out, nil
}
