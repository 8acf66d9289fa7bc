package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/gitops"
	"github.com/serin-dev/serin/internal/workload"
)

// trackedConfig is a ConfigMap or Secret the target uses, with its
// checksum.
type trackedConfig struct {
	ref workload.ConfigRef
	obj client.Object
	sum string
}

// readConfigs reads the configs the target references, skipping optional
// ones that do not exist and those with tracking disabled. With config
// tracking off for the operator it reads none: the primary then uses the
// target's ConfigMaps and Secrets themselves, as in Flagger.
func (r *CanaryReconciler) readConfigs(ctx context.Context, c *flaggerv1.Canary, target *appsv1.Deployment) ([]trackedConfig, error) {
	if r.DisableConfigTracking {
		return nil, nil
	}
	var out []trackedConfig
	for _, ref := range workload.ConfigRefs(&target.Spec.Template.Spec) {
		obj, err := r.readConfig(ctx, ref, client.ObjectKey{Namespace: c.Namespace, Name: ref.Name})
		if err != nil {
			if apierrors.IsNotFound(err) && ref.Optional {
				continue
			}
			if apierrors.IsNotFound(err) {
				return nil, &problem{reason: "ConfigNotFound", gone: fmt.Sprintf("%s %s used by %s was deleted", kindName(ref.Kind), ref.Name, target.Name),
					message: fmt.Sprintf("%s %s referenced by deployment %s not found: create it or mark the reference optional", kindName(ref.Kind), ref.Name, target.Name)}
			}
			return nil, fmt.Errorf("read %s %s: %w", ref.Kind, ref.Name, err)
		}
		if obj.GetAnnotations()[workload.TrackingAnnotation] == "disabled" {
			continue
		}
		out = append(out, trackedConfig{ref: ref, obj: obj, sum: configChecksum(obj)})
	}
	return out, nil
}

// readConfig reads a ConfigMap or Secret through the config reader: its
// metadata from the watch, its data from the API server only when it
// changed since the last read.
func (r *CanaryReconciler) readConfig(ctx context.Context, ref workload.ConfigRef, key client.ObjectKey) (client.Object, error) {
	if ref.Kind == workload.ConfigMapKind {
		return r.Configs.ConfigMap(ctx, key)
	}
	return r.Configs.Secret(ctx, key)
}

// copyConfigs copies configs to their <name>-primary copies, owned by the
// canary; unchanged copies are not written.
func (r *CanaryReconciler) copyConfigs(ctx context.Context, c *flaggerv1.Canary, configs []trackedConfig) error {
	for _, tc := range configs {
		var dst client.Object = &corev1.Secret{}
		if tc.ref.Kind == workload.ConfigMapKind {
			dst = &corev1.ConfigMap{}
		}
		dst.SetName(workload.PrimaryName(tc.ref.Name))
		dst.SetNamespace(c.Namespace)
		_, err := controllerutil.CreateOrPatch(ctx, r.Client, dst, func() error {
			dst.SetLabels(r.Copy.Labels(tc.obj))
			gitops.Mark(dst)
			switch d := dst.(type) {
			case *corev1.ConfigMap:
				src := tc.obj.(*corev1.ConfigMap)
				d.Data, d.BinaryData = src.Data, src.BinaryData
			case *corev1.Secret:
				src := tc.obj.(*corev1.Secret)
				d.Type, d.Data = src.Type, src.Data
			}
			return controllerutil.SetControllerReference(c, dst, r.Scheme)
		})
		if err != nil {
			return fmt.Errorf("copy %s %s to %s: %w", tc.ref.Kind, tc.ref.Name, dst.GetName(), err)
		}
	}
	return nil
}

func checksums(configs []trackedConfig) map[string]string {
	out := make(map[string]string, len(configs))
	for _, tc := range configs {
		out[tc.ref.Key()] = tc.sum
	}
	return out
}

// primarySpec describes the primary for the target and its configs.
func (s *scope) primarySpec(configs []trackedConfig) workload.PrimarySpec {
	tracked := make(map[string]bool, len(configs))
	for _, tc := range configs {
		tracked[tc.ref.Key()] = true
	}
	return workload.PrimarySpec{Target: s.target, LabelKey: s.labelKey, LabelValue: s.labelValue, TrackedConfig: tracked, Copy: s.copyRule}
}
