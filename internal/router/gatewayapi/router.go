// Package gatewayapi implements the gatewayapi:v1 provider: one HTTPRoute
// per canary, named after the apex service, that splits traffic by weight
// between the <svc>-primary and <svc>-canary services. For A/B testing the
// route gets header-matched rules that carry the weights, ahead of a
// default rule that keeps everyone else on the primary.
//
// Every rule of the canary carries its route settings, as Flagger's
// Gateway API router writes them: spec.service.headers as header modifier
// filters, rewrite as a URLRewrite filter, corsPolicy as a CORS filter,
// timeout and backendTimeout as the rule's timeouts. analysis.mirror adds
// a RequestMirror filter (mirrorWeight percent) to the weighted rule while
// the canary has no weight; analysis.sessionAffinity adds cookie rules
// (see router.Affinity). The route carries spec.service.apex's labels and
// annotations.
//
// Rules that do not route to the canary's services, and filters of types
// the router does not write that someone added to the canary's rules (an
// ExtensionRef, a mirror elsewhere), are kept.
//
// The HTTPRoute is the source of truth for where traffic goes: Reconcile
// keeps the weights and mirroring it finds there, and only SetRoutes and
// Finalize change them.
package gatewayapi

// The HTTPRoute is created, patched, and deleted when a canary moves to
// another provider.
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;create;patch;delete

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/gitops"
	"github.com/serin-dev/serin/internal/router"
)

const installHint = "install the Gateway API standard CRDs (kubectl apply -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.3/standard-install.yaml)"

// Options are what differs between the providers that route with an
// HTTPRoute: gatewayapi:v1 attaches it to the canary's gateways, a mesh
// (linkerd) to the apex Service.
type Options struct {
	// Provider names the provider in errors.
	Provider string
	// Install tells the user how to get the HTTPRoute CRD.
	Install string
	// ParentRefs are the route's parents; spec.service.gatewayRefs when nil.
	ParentRefs func(c *flaggerv1.Canary) []gatewayv1.ParentReference
	// NoHostnames leaves spec.hostnames unset (a mesh route applies to
	// calls to its parent Service, whatever the host).
	NoHostnames bool
	// Annotations the route must carry, e.g. a mesh's retry policy; keys
	// the router once wrote and no longer returns are removed.
	Annotations func(c *flaggerv1.Canary) (map[string]string, error)
	// ManagedAnnotations are the keys Annotations may return.
	ManagedAnnotations []string
	// Mirroring says that the provider mirrors requests to the canary
	// (analysis.mirror).
	Mirroring bool
}

// Router reconciles the HTTPRoute of a canary.
type Router struct {
	client client.Client
	scheme *runtime.Scheme
	opts   Options
}

var _ router.Router = (*Router)(nil)

// New returns the gatewayapi:v1 router. The scheme must know the Canary
// types, to set the route's owner reference.
func New(c client.Client, scheme *runtime.Scheme) *Router {
	return NewWithOptions(c, scheme, Options{Provider: router.GatewayAPI, Install: installHint, Mirroring: true})
}

// NewWithOptions returns an HTTPRoute router for another provider.
func NewWithOptions(c client.Client, scheme *runtime.Scheme, opts Options) *Router {
	return &Router{client: c, scheme: scheme, opts: opts}
}

// Reconcile creates the HTTPRoute with the weights w, or patches its
// parents, hostnames and rules when the canary's spec moved away from
// them, keeping the weights and mirroring the route carries and what
// others added to it.
func (r *Router) Reconcile(ctx context.Context, c *flaggerv1.Canary, w router.Weights) error {
	annotations, err := r.annotations(c)
	if err != nil {
		return err
	}
	route := &gatewayv1.HTTPRoute{}
	err = r.client.Get(ctx, routeKey(c), route)
	if apierrors.IsNotFound(err) {
		return r.create(ctx, c, annotations, w)
	}
	if err != nil {
		return r.apiError("get", routeKey(c), err, c)
	}
	// A route whose weighted rule no longer names both services has no
	// split to keep; the primary is the safe side to start again from.
	kept, err := weightsOf(c, route)
	if err != nil {
		kept = initialWeights
	}
	desired, err := desiredSpec(c, kept, r.opts)
	if err != nil {
		return fmt.Errorf("httproute %s: %w", routeKey(c), err)
	}
	desired.Rules = merge(c, route.Spec.Rules, desired.Rules)
	before := route.DeepCopy()
	if err := controllerutil.SetControllerReference(c, route, r.scheme); err != nil {
		return fmt.Errorf("own httproute %s: %w", routeKey(c), err)
	}
	r.setMetadata(c, route, annotations)
	// The stored spec carries the API server's defaults; the desired one
	// has them filled in too, so equal means nothing to write.
	current := before.Spec.DeepCopy()
	setDefaults(current)
	if ownedEqual(*current, desired) && equality.Semantic.DeepEqual(before.ObjectMeta, route.ObjectMeta) {
		return nil
	}
	route.Spec.ParentRefs = desired.ParentRefs
	route.Spec.Hostnames = desired.Hostnames
	route.Spec.Rules = desired.Rules
	return r.patch(ctx, c, route, before)
}

func (r *Router) create(ctx context.Context, c *flaggerv1.Canary, annotations map[string]string, w router.Weights) error {
	spec, err := desiredSpec(c, w, r.opts)
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
	r.setMetadata(c, route, annotations)
	if err := r.client.Create(ctx, route); err != nil {
		return r.apiError("create", routeKey(c), err, c)
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

// SetRoutes renders the canary's rules with w, keeping what others added.
func (r *Router) SetRoutes(ctx context.Context, c *flaggerv1.Canary, w router.Weights) error {
	route, err := r.get(ctx, c)
	if err != nil {
		return err
	}
	rules, err := desiredRules(c, w, r.opts.Provider)
	if err != nil {
		return fmt.Errorf("httproute %s: %w", routeKey(c), err)
	}
	before := route.DeepCopy()
	route.Spec.Rules = merge(c, route.Spec.Rules, rules)
	desired, current := route.Spec.DeepCopy(), before.Spec.DeepCopy()
	setDefaults(desired)
	setDefaults(current)
	if equality.Semantic.DeepEqual(desired.Rules, current.Rules) {
		return nil
	}
	return r.patch(ctx, c, route, before)
}

// GetRoutes reads the weights and mirroring of the weighted rule.
func (r *Router) GetRoutes(ctx context.Context, c *flaggerv1.Canary) (router.Weights, error) {
	route, err := r.get(ctx, c)
	if err != nil {
		return router.Weights{}, err
	}
	return weightsOf(c, route)
}

// SupportsMirroring tells the reconciler whether this provider mirrors
// requests (gatewayapi:v1 does; the linkerd routes do not).
func (r *Router) SupportsMirroring() bool { return r.opts.Mirroring }

// Finalize sends all traffic, on every rule of the canary, to the canary
// service, without mirroring: after a deletion with revertOnDeletion the
// target workload is restored behind it and the primary goes away.
func (r *Router) Finalize(ctx context.Context, c *flaggerv1.Canary) error {
	route, err := r.get(ctx, c)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	before := route.DeepCopy()
	for i := range route.Spec.Rules {
		rule := &route.Spec.Rules[i]
		if !ownRule(c, *rule) {
			continue
		}
		rule.Filters = slices.DeleteFunc(rule.Filters, func(f gatewayv1.HTTPRouteFilter) bool { return isCanaryMirror(c, f) })
		for j := range rule.BackendRefs {
			b := &rule.BackendRefs[j]
			switch string(b.Name) {
			case primaryName(c):
				b.Weight = ptr.To(int32(0))
			case canaryName(c):
				b.Weight = ptr.To(int32(100))
			}
		}
	}
	if equality.Semantic.DeepEqual(before.Spec, route.Spec) {
		return nil
	}
	return r.patch(ctx, c, route, before)
}

// Cleanup deletes the HTTPRoute.
func (r *Router) Cleanup(ctx context.Context, c *flaggerv1.Canary) error {
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: c.GetServiceName(), Namespace: c.Namespace}}
	if err := r.client.Delete(ctx, route); err != nil && !apierrors.IsNotFound(err) {
		return r.apiError("delete", routeKey(c), err, c)
	}
	return nil
}

func (r *Router) get(ctx context.Context, c *flaggerv1.Canary) (*gatewayv1.HTTPRoute, error) {
	route := &gatewayv1.HTTPRoute{}
	if err := r.client.Get(ctx, routeKey(c), route); err != nil {
		return nil, r.apiError("get", routeKey(c), err, c)
	}
	return route, nil
}

// patch sends the difference from before as a merge patch, so labels,
// annotations and spec fields others own are left alone. The optimistic
// lock turns a concurrent write into a conflict to retry instead of a
// lost update of the rules list, which a merge patch replaces whole.
func (r *Router) patch(ctx context.Context, c *flaggerv1.Canary, route, before *gatewayv1.HTTPRoute) error {
	p := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
	if err := r.client.Patch(ctx, route, p); err != nil {
		return r.apiError("patch", client.ObjectKeyFromObject(route), err, c)
	}
	return nil
}

// weightsOf reads the weighted rule's weights, and whether it mirrors
// requests to the canary; an unset weight is Gateway API's default of 1.
func weightsOf(c *flaggerv1.Canary, route *gatewayv1.HTTPRoute) (router.Weights, error) {
	rule := weightedRule(c, route.Spec.Rules)
	if rule == nil {
		return router.Weights{}, fmt.Errorf("httproute %s has no rule routing to %s and %s",
			client.ObjectKeyFromObject(route), primaryName(c), canaryName(c))
	}
	var primary, canary *int32
	for _, b := range rule.BackendRefs {
		weight := ptr.Deref(b.Weight, 1)
		switch string(b.Name) {
		case primaryName(c):
			primary = &weight
		case canaryName(c):
			canary = &weight
		}
	}
	if primary == nil || canary == nil {
		return router.Weights{}, fmt.Errorf("httproute %s: the weighted rule does not route to both %s and %s",
			client.ObjectKeyFromObject(route), primaryName(c), canaryName(c))
	}
	mirrored := slices.ContainsFunc(rule.Filters, func(f gatewayv1.HTTPRouteFilter) bool { return isCanaryMirror(c, f) })
	return router.Weights{Primary: int(*primary), Canary: int(*canary), Mirrored: mirrored}, nil
}

func routeKey(c *flaggerv1.Canary) client.ObjectKey {
	return client.ObjectKey{Namespace: c.Namespace, Name: c.GetServiceName()}
}

// apiError names the call that failed. An HTTPRoute CRD older than the
// CORS filter refuses a route that has one: that is said in the words of
// the canary field that asked for it.
func (r *Router) apiError(verb string, key client.ObjectKey, err error, c *flaggerv1.Canary) error {
	if apierrors.IsInvalid(err) && c.Spec.Service.CorsPolicy != nil && strings.Contains(err.Error(), `"CORS"`) {
		return &router.UnsupportedFieldError{Field: "spec.service.corsPolicy", Provider: r.opts.Provider,
			Reason: "the HTTPRoute CRD installed in the cluster has no CORS filter: " + r.opts.Install + ", or remove corsPolicy"}
	}
	return fmt.Errorf("%s httproute %s: %w", verb, key, router.CheckKind(err, "HTTPRoute", gatewayv1.GroupVersion.String(), r.opts.Install))
}

func (r *Router) annotations(c *flaggerv1.Canary) (map[string]string, error) {
	if r.opts.Annotations == nil {
		return nil, nil
	}
	return r.opts.Annotations(c)
}

// setMetadata adds spec.service.apex's labels and annotations and the
// GitOps markers, and writes the managed annotations, keeping everyone
// else's.
func (r *Router) setMetadata(c *flaggerv1.Canary, route *gatewayv1.HTTPRoute, annotations map[string]string) {
	router.AddMetadata(route, c.Spec.Service.Apex)
	r.setAnnotations(route, annotations)
	gitops.Mark(route)
}

// setAnnotations writes the managed annotations, removing managed keys
// that are no longer wanted and keeping everyone else's.
func (r *Router) setAnnotations(route *gatewayv1.HTTPRoute, want map[string]string) {
	for _, k := range r.opts.ManagedAnnotations {
		v, ok := want[k]
		switch {
		case ok:
			if route.Annotations == nil {
				route.Annotations = map[string]string{}
			}
			route.Annotations[k] = v
		default:
			delete(route.Annotations, k)
		}
	}
}
