package controller

import (
	"context"
	"fmt"
	"time"

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

// configIndex indexes Canaries by the configs they track
// ("configmap/NAME", "secret/NAME"), plus pendingConfigs for those not
// Ready, so a config event finds its canaries without listing the
// namespace.
const configIndex = "status.trackedConfigs"

// pendingConfigs is the configIndex value of canaries that are not Ready:
// one of them may be waiting for a config to appear.
const pendingConfigs = "(not ready)"

// SetupOptions tune the controller.
type SetupOptions struct {
	// MaxConcurrentReconciles is the number of canaries reconciled at once.
	// A canary whose webhooks hang holds one of them for at most the
	// reconciler's StepTimeout.
	MaxConcurrentReconciles int
	// RoutingKinds are the routing objects (App Mesh, Gateway API) whose
	// CRDs are installed; a change to one the canary owns enqueues it, so
	// an edit of the weights by hand is undone at once.
	RoutingKinds []client.Object
}

// SetupWithManager wires the reconciler: Canaries, the objects they own,
// their target Deployments and, with config tracking on, the ConfigMaps and
// Secrets those use. A change to any of them enqueues the canary at once.
// ConfigMaps and Secrets are watched metadata-only: the cache holds no
// Secret data, and their contents are read through r.Configs when a canary
// uses them.
func (r *CanaryReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts SetupOptions) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &flaggerv1.Canary{}, targetIndex, func(o client.Object) []string {
		return []string{o.(*flaggerv1.Canary).Spec.TargetRef.Name}
	}); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &flaggerv1.Canary{}, configIndex, trackedConfigKeys); err != nil {
		return err
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&flaggerv1.Canary{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}).
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.canariesTargeting)).
		Watches(&flaggerv1.Canary{}, handler.EnqueueRequestsFromMapFunc(r.canariesSharingTarget))
	if !r.DisableConfigTracking {
		b = b.WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.canariesUsingConfig("configmap"))).
			WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.canariesUsingConfig("secret")))
	}
	for _, kind := range opts.RoutingKinds {
		b = b.Owns(kind)
	}
	return b.WithOptions(controller.Options{
		MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
		// The step's calls have their budget; the rest is API writes.
		ReconciliationTimeout: r.stepTimeout() + writeMargin,
	}).Complete(r)
}

// writeMargin is the time a reconcile has, beyond its step budget, for its
// API reads and writes.
const writeMargin = 30 * time.Second

// canariesTargeting maps a Deployment to the canaries whose target it is.
func (r *CanaryReconciler) canariesTargeting(ctx context.Context, o client.Object) []reconcile.Request {
	var list flaggerv1.CanaryList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{targetIndex: o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "List canaries targeting a deployment", "deployment", o.GetName())
		return nil
	}
	return requests(list.Items)
}

// trackedConfigKeys are a canary's configIndex values.
func trackedConfigKeys(o client.Object) []string {
	c := o.(*flaggerv1.Canary)
	var keys []string
	if t := c.Status.TrackedConfigs; t != nil {
		for k := range *t {
			keys = append(keys, k)
		}
	}
	if !meta.IsStatusConditionTrue(c.Status.Conditions, flaggerv1.ReadyCondition) {
		keys = append(keys, pendingConfigs)
	}
	return keys
}

// canariesUsingConfig maps a ConfigMap or Secret to the canaries that track
// it, and to those not ready yet (one may be waiting for it to appear).
func (r *CanaryReconciler) canariesUsingConfig(kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		seen := map[types.NamespacedName]bool{}
		var out []reconcile.Request
		for _, value := range []string{kind + "/" + o.GetName(), pendingConfigs} {
			var list flaggerv1.CanaryList
			if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{configIndex: value}); err != nil {
				ctrl.LoggerFrom(ctx).Error(err, "List canaries using a config", kind, o.GetName())
				return nil
			}
			for _, req := range requests(list.Items) {
				if !seen[req.NamespacedName] {
					seen[req.NamespacedName] = true
					out = append(out, req)
				}
			}
		}
		return out
	}
}

func requests(items []flaggerv1.Canary) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(items))
	for _, c := range items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: c.Namespace, Name: c.Name}})
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
