// Package kubernetes reconciles the ClusterIP services of a canary (apex,
// primary and canary) and implements the kubernetes provider, which routes
// no traffic by weight: the apex service always selects the primary, and
// blue/green analysis exercises the canary service directly.
package kubernetes

// The services are created and patched (and handed back to the target by
// removing the owner reference on revertOnDeletion).
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/gitops"
	"github.com/serin-dev/serin/internal/router"
)

// ServiceSet is what the services select: the selector label and its
// value on target pods (primary pods carry value-primary).
type ServiceSet struct {
	LabelKey   string
	LabelValue string
	// ApexAnnotations are added to the apex service (App Mesh gateway).
	ApexAnnotations map[string]string
	// Containers are the target's containers, whose ports
	// spec.service.portDiscovery adds to the services.
	Containers []corev1.Container
}

// Services reconciles the three ClusterIP services.
type Services struct {
	Client client.Client
	Scheme *runtime.Scheme
}

// Reconcile creates or patches <svc>, <svc>-primary and <svc>-canary; it
// writes nothing when they already match.
func (s *Services) Reconcile(ctx context.Context, c *flaggerv1.Canary, set ServiceSet) error {
	name := c.GetServiceName()
	primarySel := map[string]string{set.LabelKey: set.LabelValue + "-primary"}
	canarySel := map[string]string{set.LabelKey: set.LabelValue}
	apexMeta := mergeMeta(c.Spec.Service.Apex, set.ApexAnnotations)
	ports := servicePorts(c, set.Containers)
	for _, svc := range []struct {
		name     string
		selector map[string]string
		meta     *flaggerv1.CustomMetadata
	}{
		{name, primarySel, apexMeta},
		{name + "-primary", primarySel, c.Spec.Service.Primary},
		{name + "-canary", canarySel, c.Spec.Service.Canary},
	} {
		if err := s.reconcileService(ctx, c, svc.name, svc.selector, svc.meta, ports); err != nil {
			return err
		}
	}
	return nil
}

func (s *Services) reconcileService(ctx context.Context, c *flaggerv1.Canary, name string, selector map[string]string,
	meta *flaggerv1.CustomMetadata, ports []corev1.ServicePort) error {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.Namespace}}
	_, err := controllerutil.CreateOrPatch(ctx, s.Client, svc, func() error {
		svc.Labels = merge(svc.Labels, map[string]string{"app": name})
		if meta != nil {
			svc.Labels = merge(svc.Labels, meta.Labels)
			svc.Annotations = merge(svc.Annotations, meta.Annotations)
		}
		gitops.Mark(svc)
		svc.Spec.Type = corev1.ServiceTypeClusterIP
		svc.Spec.Selector = selector
		svc.Spec.Ports = ports
		return controllerutil.SetControllerReference(c, svc, s.Scheme)
	})
	if err != nil {
		return fmt.Errorf("reconcile service %s: %w", name, err)
	}
	return nil
}

func mergeMeta(m *flaggerv1.CustomMetadata, annotations map[string]string) *flaggerv1.CustomMetadata {
	out := &flaggerv1.CustomMetadata{Annotations: annotations}
	if m != nil {
		out.Labels = m.Labels
		out.Annotations = merge(m.Annotations, annotations)
	}
	return out
}

func merge(dst, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]string, len(src))
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// Router is the kubernetes provider: it has no routing object of its own,
// so all traffic stays on the primary service.
type Router struct{}

var (
	_ router.Router     = Router{}
	_ router.Weightless = Router{}
)

// Weightless marks the provider as unable to split traffic.
func (Router) Weightless() {}

// Reconcile has nothing beyond the services to reconcile.
func (Router) Reconcile(context.Context, *flaggerv1.Canary, router.Weights) error { return nil }

// SetRoutes is a no-op: ClusterIP services cannot split traffic.
func (Router) SetRoutes(context.Context, *flaggerv1.Canary, router.Weights) error { return nil }

// GetRoutes reports all traffic on the primary.
func (Router) GetRoutes(context.Context, *flaggerv1.Canary) (router.Weights, error) {
	return router.Weights{Primary: 100}, nil
}

// Finalize has nothing to restore.
func (Router) Finalize(context.Context, *flaggerv1.Canary) error { return nil }

// Cleanup has nothing to delete.
func (Router) Cleanup(context.Context, *flaggerv1.Canary) error { return nil }

// Revert hands the apex service back to the target on Canary deletion: it
// selects the target's pods. With release it is also no longer owned by
// the Canary, so the garbage collector keeps it; without, it goes with the
// Canary, but selects pods until then.
func (s *Services) Revert(ctx context.Context, c *flaggerv1.Canary, labelKey, labelValue string, release bool) error {
	svc := &corev1.Service{}
	key := client.ObjectKey{Namespace: c.Namespace, Name: c.GetServiceName()}
	if err := s.Client.Get(ctx, key, svc); err != nil {
		return client.IgnoreNotFound(err)
	}
	patch := client.MergeFrom(svc.DeepCopy())
	svc.Spec.Selector = map[string]string{labelKey: labelValue}
	if release {
		refs := svc.OwnerReferences[:0]
		for _, ref := range svc.OwnerReferences {
			if ref.UID != c.UID {
				refs = append(refs, ref)
			}
		}
		svc.OwnerReferences = refs
	}
	if err := s.Client.Patch(ctx, svc, patch); err != nil {
		return fmt.Errorf("revert service %s to %s=%s: %w", svc.Name, labelKey, labelValue, err)
	}
	return nil
}
