package istio

import (
	"context"
	"fmt"

	networking "istio.io/api/networking/v1alpha3"
	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
)

// Provider is the spec.provider value of this router.
const Provider = "istio"

const install = "install Istio (istioctl install, or the istio/base Helm chart for the CRDs), or choose another provider"

var (
	virtualServiceKind  = router.Kind{Name: "VirtualService", APIVersion: istiov1beta1.SchemeGroupVersion.String(), Install: install}
	destinationRuleKind = router.Kind{Name: "DestinationRule", APIVersion: istiov1beta1.SchemeGroupVersion.String(), Install: install}
)

// initialWeights put all traffic on the primary, in a new VirtualService.
var initialWeights = router.Weights{Primary: 100}

// Router reconciles the VirtualService and DestinationRules of a canary.
type Router struct {
	client client.Client
	scheme *runtime.Scheme
}

var _ router.Router = (*Router)(nil)

// New returns the istio router. The scheme must know the Canary and the
// networking.istio.io/v1beta1 types.
func New(c client.Client, scheme *runtime.Scheme) *Router {
	return &Router{client: c, scheme: scheme}
}

// SupportsMirroring tells the reconciler that this router mirrors traffic.
func (r *Router) SupportsMirroring() bool { return true }

// Reconcile creates or patches the DestinationRules, then the
// VirtualService, keeping the weights and mirroring it carries; a missing
// VirtualService is created with the weights initial.
func (r *Router) Reconcile(ctx context.Context, c *flaggerv1.Canary, initial router.Weights) error {
	s, err := newSettings(c)
	if err != nil {
		return err
	}
	n := namesOf(c)
	for _, host := range []string{n.primary, n.canary} {
		if err := r.reconcileDestinationRule(ctx, c, host, s); err != nil {
			return err
		}
	}
	vs := &istiov1beta1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: n.apex, Namespace: c.Namespace}}
	return router.Apply(ctx, r.client, r.scheme, c, router.Object{Kind: virtualServiceKind, Obj: vs}, func(exists bool) error {
		w := initial
		if wr := weightedRoute(c, &vs.Spec); exists && wr != nil {
			w = weightsOf(wr, n)
		}
		router.AddMetadata(vs, c.Spec.Service.Apex)
		desired := desiredSpec(c, s, w)
		vs.Spec.Hosts, vs.Spec.Gateways, vs.Spec.Http = desired.Hosts, desired.Gateways, desired.Http
		return nil
	})
}

// reconcileDestinationRule writes the rule of one of the canary's
// services, which carries the traffic policy.
func (r *Router) reconcileDestinationRule(ctx context.Context, c *flaggerv1.Canary, host string, s settings) error {
	dr := &istiov1beta1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: host, Namespace: c.Namespace}}
	return router.Apply(ctx, r.client, r.scheme, c, router.Object{Kind: destinationRuleKind, Obj: dr}, func(bool) error {
		dr.Spec.Host = host
		dr.Spec.TrafficPolicy = clone(s.trafficPolicy)
		return nil
	})
}

// SetRoutes renders the VirtualService's routes with w.
func (r *Router) SetRoutes(ctx context.Context, c *flaggerv1.Canary, w router.Weights) error {
	s, err := newSettings(c)
	if err != nil {
		return err
	}
	vs, err := r.get(ctx, c, false)
	if err != nil {
		return err
	}
	before := vs.DeepCopy()
	vs.Spec.Http = desiredSpec(c, s, w).Http
	return router.Patch(ctx, r.client, router.Object{Kind: virtualServiceKind, Obj: vs}, before)
}

// GetRoutes reads the weights and mirroring of the weighted route.
func (r *Router) GetRoutes(ctx context.Context, c *flaggerv1.Canary) (router.Weights, error) {
	vs, err := r.get(ctx, c, false)
	if err != nil {
		return router.Weights{}, err
	}
	n := namesOf(c)
	wr := weightedRoute(c, &vs.Spec)
	if wr == nil {
		return router.Weights{}, fmt.Errorf("VirtualService %s has no HTTP route to both %s and %s", n.apex, n.primary, n.canary)
	}
	return weightsOf(wr, n), nil
}

// Finalize sends every route to the canary service, without mirroring:
// after a deletion with revertOnDeletion the target workload is restored
// behind it and the primary goes away.
func (r *Router) Finalize(ctx context.Context, c *flaggerv1.Canary) error {
	vs, err := r.get(ctx, c, true)
	if err != nil || vs == nil {
		return err
	}
	before := vs.DeepCopy()
	n := namesOf(c)
	for _, h := range vs.Spec.Http {
		h.Mirror, h.MirrorPercentage = nil, nil
		h.Route = []*networking.HTTPRouteDestination{destination(c, n.canary, 100)}
	}
	return router.Patch(ctx, r.client, router.Object{Kind: virtualServiceKind, Obj: vs}, before)
}

// Cleanup deletes the canary's VirtualService and DestinationRules.
func (r *Router) Cleanup(ctx context.Context, c *flaggerv1.Canary) error {
	n := namesOf(c)
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: c.Namespace} }
	return router.DeleteOwned(ctx, r.client, c, []router.Object{
		{Kind: virtualServiceKind, Obj: &istiov1beta1.VirtualService{ObjectMeta: meta(n.apex)}},
		{Kind: destinationRuleKind, Obj: &istiov1beta1.DestinationRule{ObjectMeta: meta(n.primary)}},
		{Kind: destinationRuleKind, Obj: &istiov1beta1.DestinationRule{ObjectMeta: meta(n.canary)}},
	})
}

// get reads the VirtualService. When finalizing, a missing one (or a
// missing Istio API) means nothing routes through Istio: nil, no error.
func (r *Router) get(ctx context.Context, c *flaggerv1.Canary, finalize bool) (*istiov1beta1.VirtualService, error) {
	n := namesOf(c)
	vs := &istiov1beta1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: n.apex, Namespace: c.Namespace}}
	found, err := router.Get(ctx, r.client, router.Object{Kind: virtualServiceKind, Obj: vs}, finalize)
	switch {
	case err != nil:
		return nil, err
	case !found && finalize:
		return nil, nil
	case !found:
		return nil, router.NotReconciled("VirtualService", n.apex)
	}
	return vs, nil
}
