package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// targetIndex indexes Canaries by the name of their target workload.
const targetIndex = "spec.targetRef.name"

// SetupOptions tune the controller.
type SetupOptions struct {
	// MaxConcurrentReconciles is the number of canaries reconciled at once.
	MaxConcurrentReconciles int
	// RoutingKinds are the routing objects (App Mesh, Gateway API) whose
	// CRDs are installed; a change to one the canary owns enqueues it, so
	// an edit of the weights by hand is undone at once.
	RoutingKinds []client.Object
}

// SetupWithManager wires the reconciler: Canaries, the objects they own,
// their target Deployments and the ConfigMaps and Secrets those use. A
// change to any of them enqueues the canary at once.
func (r *CanaryReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts SetupOptions) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &flaggerv1.Canary{}, targetIndex, func(o client.Object) []string {
		return []string{o.(*flaggerv1.Canary).Spec.TargetRef.Name}
	}); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&flaggerv1.Canary{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}).
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.canariesTargeting)).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.canariesUsingConfig("configmap"))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.canariesUsingConfig("secret")))
	for _, kind := range opts.RoutingKinds {
		b = b.Owns(kind)
	}
	return b.WithOptions(controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles}).Complete(r)
}

// canariesTargeting maps a Deployment to the canaries whose target it is.
func (r *CanaryReconciler) canariesTargeting(ctx context.Context, o client.Object) []reconcile.Request {
	var list flaggerv1.CanaryList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{targetIndex: o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List canaries targeting a deployment", "deployment", o.GetName())
		return nil
	}
	return requests(list.Items, func(flaggerv1.Canary) bool { return true })
}

// canariesUsingConfig maps a ConfigMap or Secret to the canaries that track
// it, and to those not ready yet (one may be waiting for it to appear).
func (r *CanaryReconciler) canariesUsingConfig(kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var list flaggerv1.CanaryList
		if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "List canaries using a config", kind, o.GetName())
			return nil
		}
		key := kind + "/" + o.GetName()
		return requests(list.Items, func(c flaggerv1.Canary) bool {
			if t := c.Status.TrackedConfigs; t != nil {
				if _, ok := (*t)[key]; ok {
					return true
				}
			}
			return !meta.IsStatusConditionTrue(c.Status.Conditions, flaggerv1.ReadyCondition)
		})
	}
}

func requests(items []flaggerv1.Canary, keep func(flaggerv1.Canary) bool) []reconcile.Request {
	var out []reconcile.Request
	for _, c := range items {
		if keep(c) {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: c.Namespace, Name: c.Name}})
		}
	}
	return out
}

// InstalledKinds returns the objects whose kinds the API server serves,
// so that watches are set up only for CRDs that exist.
func InstalledKinds(mapper meta.RESTMapper, scheme *runtime.Scheme, objs ...client.Object) ([]client.Object, error) {
	var out []client.Object
	for _, o := range objs {
		gvk, err := apiutil.GVKForObject(o, scheme)
		if err != nil {
			return nil, err
		}
		if _, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err == nil {
			out = append(out, o)
		} else if !meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("look up %s: %w", gvk, err)
		}
	}
	return out, nil
}
