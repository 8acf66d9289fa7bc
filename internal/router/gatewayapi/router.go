// Package gatewayapi implements the gatewayapi:v1 provider: one HTTPRoute
// per canary, named after the apex service, that splits traffic by weight
// between the <svc>-primary and <svc>-canary services. For A/B testing the
// route gets header-matched rules that carry the weights, ahead of a
// default rule that keeps everyone else on the primary.
//
// The HTTPRoute is the source of truth for where traffic goes: Reconcile
// keeps the weights it finds there, and only SetRoutes and Finalize change
// them.
package gatewayapi

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
)

const installHint = "install the Gateway API standard CRDs (kubectl apply -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.3/standard-install.yaml)"

// Router reconciles the HTTPRoute of a canary.
type Router struct {
	client client.Client
	scheme *runtime.Scheme
}

var _ router.Router = (*Router)(nil)

// New returns the gatewayapi:v1 router. The scheme must know the Canary
// types, to set the route's owner reference.
func New(c client.Client, scheme *runtime.Scheme) *Router {
	return &Router{client: c, scheme: scheme}
}

// Reconcile creates the HTTPRoute with all traffic on the primary, or
// patches its parents, hostnames and rules when the canary's spec moved
// away from them, keeping the weights the route carries.
func (r *Router) Reconcile(ctx context.Context, c *flaggerv1.Canary) error {
	route := &gatewayv1.HTTPRoute{}
	err := r.client.Get(ctx, routeKey(c), route)
	if apierrors.IsNotFound(err) {
		return r.create(ctx, c)
	}
	if err != nil {
		return apiError("get", routeKey(c), err)
	}
	// A route whose weighted rule no longer names both services has no
	// split to keep; the primary is the safe side to start again from.
	w, err := weightsOf(c, route)
	if err != nil {
		w = initialWeights
	}
	desired, err := desiredSpec(c, w)
	if err != nil {
		return fmt.Errorf("httproute %s: %w", routeKey(c), err)
	}
	before := route.DeepCopy()
	if err := controllerutil.SetControllerReference(c, route, r.scheme); err != nil {
		return fmt.Errorf("own httproute %s: %w", routeKey(c), err)
	}
	// The stored spec carries the API server's defaults; the desired one
	// has them filled in too, so equal means nothing to write.
	current := before.Spec.DeepCopy()
	setDefaults(current)
	if ownedEqual(*current, desired) && equality.Semantic.DeepEqual(before.OwnerReferences, route.OwnerReferences) {
		return nil
	}
	route.Spec.ParentRefs = desired.ParentRefs
	route.Spec.Hostnames = desired.Hostnames
	route.Spec.Rules = desired.Rules
	return r.patch(ctx, route, before)
}

func (r *Router) create(ctx context.Context, c *flaggerv1.Canary) error {
	spec, err := desiredSpec(c, initialWeights)
	if err != nil {
		return fmt.Errorf("httproute %s: %w", routeKey(c), err)
	}
	route := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: c.GetServiceName(), Namespace: c.Namespace},
		Spec:       spec,
	}
	if err := controllerutil.SetControllerReference(c, route, r.scheme); err != nil {
		return fmt.Errorf("own httproute %s: %w", routeKey(c), err)
	}
	if err := r.client.Create(ctx, route); err != nil {
		return apiError("create", routeKey(c), err)
	}
	return nil
}

// ownedEqual compares the spec fields this router writes; fields such as
// useDefaultGateways belong to whoever set them.
func ownedEqual(a, b gatewayv1.HTTPRouteSpec) bool {
	return equality.Semantic.DeepEqual(a.ParentRefs, b.ParentRefs) &&
		equality.Semantic.DeepEqual(a.Hostnames, b.Hostnames) &&
		equality.Semantic.DeepEqual(a.Rules, b.Rules)
}

// SetRoutes writes w on the weighted rules: the only rule of a weighted
// or blue/green release, the header-matched rules of an A/B one, whose
// default rule stays on the primary.
func (r *Router) SetRoutes(ctx context.Context, c *flaggerv1.Canary, w router.Weights) error {
	route, err := r.get(ctx, c)
	if err != nil {
		return err
	}
	return r.writeWeights(ctx, c, route, weightedRules(c, route), w)
}

// GetRoutes reads the weights of the first rule, which is a weighted rule
// in every release strategy.
func (r *Router) GetRoutes(ctx context.Context, c *flaggerv1.Canary) (router.Weights, error) {
	route, err := r.get(ctx, c)
	if err != nil {
		return router.Weights{}, err
	}
	return weightsOf(c, route)
}

// Finalize sends all traffic, on every rule, to the canary service: after a
// deletion with revertOnDeletion the target workload is restored behind it
// and the primary goes away.
func (r *Router) Finalize(ctx context.Context, c *flaggerv1.Canary) error {
	route, err := r.get(ctx, c)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return r.writeWeights(ctx, c, route, len(route.Spec.Rules), router.Weights{Canary: 100})
}

// Cleanup deletes the HTTPRoute.
func (r *Router) Cleanup(ctx context.Context, c *flaggerv1.Canary) error {
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: c.GetServiceName(), Namespace: c.Namespace}}
	if err := r.client.Delete(ctx, route); err != nil && !apierrors.IsNotFound(err) {
		return apiError("delete", routeKey(c), err)
	}
	return nil
}

func (r *Router) get(ctx context.Context, c *flaggerv1.Canary) (*gatewayv1.HTTPRoute, error) {
	route := &gatewayv1.HTTPRoute{}
	if err := r.client.Get(ctx, routeKey(c), route); err != nil {
		return nil, apiError("get", routeKey(c), err)
	}
	return route, nil
}

// writeWeights sets w on the first n rules and patches the route if that
// changed it.
func (r *Router) writeWeights(ctx context.Context, c *flaggerv1.Canary, route *gatewayv1.HTTPRoute, n int, w router.Weights) error {
	before := route.DeepCopy()
	for i := range route.Spec.Rules[:n] {
		for j := range route.Spec.Rules[i].BackendRefs {
			b := &route.Spec.Rules[i].BackendRefs[j]
			switch string(b.Name) {
			case primaryName(c):
				b.Weight = ptr.To(int32(w.Primary))
			case canaryName(c):
				b.Weight = ptr.To(int32(w.Canary))
			}
		}
	}
	if equality.Semantic.DeepEqual(before.Spec, route.Spec) {
		return nil
	}
	return r.patch(ctx, route, before)
}

// patch sends the difference from before as a merge patch, so labels,
// annotations and spec fields others own are left alone. The optimistic
// lock turns a concurrent write into a conflict to retry instead of a
// lost update of the rules list, which a merge patch replaces whole.
func (r *Router) patch(ctx context.Context, route, before *gatewayv1.HTTPRoute) error {
	p := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
	if err := r.client.Patch(ctx, route, p); err != nil {
		return apiError("patch", client.ObjectKeyFromObject(route), err)
	}
	return nil
}

// weightedRules counts the rules that carry the canary's weights: all of
// them, except an A/B route's trailing default rule.
func weightedRules(c *flaggerv1.Canary, route *gatewayv1.HTTPRoute) int {
	n := len(route.Spec.Rules)
	if isAB(c) && n > 1 {
		return n - 1
	}
	return n
}

// weightsOf reads the first rule's weights; an unset weight is Gateway
// API's default of 1.
func weightsOf(c *flaggerv1.Canary, route *gatewayv1.HTTPRoute) (router.Weights, error) {
	if len(route.Spec.Rules) == 0 {
		return router.Weights{}, fmt.Errorf("httproute %s has no rules", client.ObjectKeyFromObject(route))
	}
	var primary, canary *int32
	for _, b := range route.Spec.Rules[0].BackendRefs {
		weight := ptr.Deref(b.Weight, 1)
		switch string(b.Name) {
		case primaryName(c):
			primary = &weight
		case canaryName(c):
			canary = &weight
		}
	}
	if primary == nil || canary == nil {
		return router.Weights{}, fmt.Errorf("httproute %s: the first rule does not route to both %s and %s",
			client.ObjectKeyFromObject(route), primaryName(c), canaryName(c))
	}
	return router.Weights{Primary: int(*primary), Canary: int(*canary)}, nil
}

func routeKey(c *flaggerv1.Canary) client.ObjectKey {
	return client.ObjectKey{Namespace: c.Namespace, Name: c.GetServiceName()}
}

func apiError(verb string, key client.ObjectKey, err error) error {
	return fmt.Errorf("%s httproute %s: %w", verb, key, router.CheckKind(err, "HTTPRoute", gatewayv1.GroupVersion.String(), installHint))
}
