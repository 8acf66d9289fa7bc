package appmesh

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	appmeshv1beta2 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
	"github.com/serin-dev/serin/internal/workload"
)

// V1beta2 is the appmesh:v1beta2 router.
type V1beta2 struct {
	client client.Client
	scheme *runtime.Scheme
	// SelectorLabels are the candidate selector labels of the target
	// Deployment, in order: the first present in its
	// spec.selector.matchLabels selects the virtual nodes' pods (value
	// <v>-primary for the primary). Set it from the operator's
	// --selector-labels; DefaultSelectorLabels when empty.
	SelectorLabels []string
}

var _ router.Router = (*V1beta2)(nil)

// NewV1beta2 returns the appmesh:v1beta2 router. The scheme must know the
// Canary and the App Mesh v1beta2 types; the client reads the target
// Deployment, whose selector the virtual nodes follow.
func NewV1beta2(cl client.Client, scheme *runtime.Scheme) *V1beta2 {
	return &V1beta2{client: cl, scheme: scheme, SelectorLabels: slices.Clone(DefaultSelectorLabels)}
}

// Reconcile creates or patches the virtual nodes, then the routers, then
// the services, so that every reference points at an existing object; a
// missing apex router is created with the weights w.
func (r *V1beta2) Reconcile(ctx context.Context, c *flaggerv1.Canary, w router.Weights) error {
	target, err := getTarget(ctx, r.client, c)
	if err != nil {
		return err
	}
	labels := r.SelectorLabels
	if len(labels) == 0 {
		labels = DefaultSelectorLabels
	}
	key, value, err := workload.SelectorLabel(target, labels)
	if err != nil {
		return err
	}
	port, err := listenerPort(c, func() (*appsv1.Deployment, error) { return target, nil })
	if err != nil {
		return err
	}
	s, err := newRouteSettings(c)
	if err != nil {
		return err
	}
	n := namesOf(c)
	pm := appmeshv1beta2.PortMapping{Port: appmeshv1beta2.PortNumber(port), Protocol: appmeshv1beta2.PortProtocol(s.protocol)}
	steps := []func() error{
		func() error {
			return r.reconcileNode(ctx, c, n.primary, map[string]string{key: workload.PrimaryName(value)}, pm)
		},
		func() error { return r.reconcileNode(ctx, c, n.canary, map[string]string{key: value}, pm) },
		func() error { return r.reconcileApexRouter(ctx, c, n, s, pm, w) },
		func() error { return r.reconcileCanaryRouter(ctx, c, n, s, pm) },
		func() error { return r.reconcileService(ctx, c, n.apex, n.apex) },
		func() error { return r.reconcileService(ctx, c, n.canary, n.canary) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// reconcileNode writes a virtual node named after the service whose DNS
// name resolves to its pods.
func (r *V1beta2) reconcileNode(ctx context.Context, c *flaggerv1.Canary, name string, selector map[string]string, pm appmeshv1beta2.PortMapping) error {
	vn := &appmeshv1beta2.VirtualNode{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.Namespace}}
	return router.Apply(ctx, r.client, r.scheme, c, router.Object{Kind: virtualNodeV1beta2, Obj: vn}, func(bool) error {
		vn.Spec.PodSelector = &metav1.LabelSelector{MatchLabels: selector}
		vn.Spec.Listeners = []appmeshv1beta2.Listener{{PortMapping: pm}}
		vn.Spec.ServiceDiscovery = &appmeshv1beta2.ServiceDiscovery{
			DNS: &appmeshv1beta2.DNSServiceDiscovery{Hostname: fmt.Sprintf("%s.%s.svc.cluster.local", name, c.Namespace)},
		}
		vn.Spec.Backends = v1beta2Backends(c.Spec.Service.Backends)
		return nil
	})
}

// reconcileApexRouter writes the router that splits the apex service's
// traffic, keeping the weights it already carries; a new one gets initial.
func (r *V1beta2) reconcileApexRouter(ctx context.Context, c *flaggerv1.Canary, n names, s routeSettings, pm appmeshv1beta2.PortMapping, initial router.Weights) error {
	vr := &appmeshv1beta2.VirtualRouter{ObjectMeta: metav1.ObjectMeta{Name: n.apex, Namespace: c.Namespace}}
	return router.Apply(ctx, r.client, r.scheme, c, router.Object{Kind: virtualRouterV1beta2, Obj: vr}, func(exists bool) error {
		w := initial
		if cur, ok := v1beta2Weights(vr.Spec.Routes, n); exists && ok {
			w = cur
		}
		vr.Spec.Listeners = []appmeshv1beta2.VirtualRouterListener{{PortMapping: pm}}
		vr.Spec.Routes = s.v1beta2ApexRoutes(n, w)
		return nil
	})
}

// reconcileCanaryRouter writes the router of the canary service, which
// always sends everything to the canary.
func (r *V1beta2) reconcileCanaryRouter(ctx context.Context, c *flaggerv1.Canary, n names, s routeSettings, pm appmeshv1beta2.PortMapping) error {
	vr := &appmeshv1beta2.VirtualRouter{ObjectMeta: metav1.ObjectMeta{Name: n.canary, Namespace: c.Namespace}}
	return router.Apply(ctx, r.client, r.scheme, c, router.Object{Kind: virtualRouterV1beta2, Obj: vr}, func(bool) error {
		vr.Spec.Listeners = []appmeshv1beta2.VirtualRouterListener{{PortMapping: pm}}
		target := []appmeshv1beta2.WeightedTarget{{VirtualNodeRef: &appmeshv1beta2.VirtualNodeReference{Name: n.canary}, Weight: 100}}
		vr.Spec.Routes = []appmeshv1beta2.Route{s.v1beta2Route(n.canaryRoute(), requestMatch{}, target)}
		return nil
	})
}

// reconcileService writes a virtual service whose App Mesh name is
// <name>.<namespace>, the name clients call, backed by a router.
func (r *V1beta2) reconcileService(ctx context.Context, c *flaggerv1.Canary, name, routerName string) error {
	vs := &appmeshv1beta2.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.Namespace}}
	return router.Apply(ctx, r.client, r.scheme, c, router.Object{Kind: virtualServiceV1beta2, Obj: vs}, func(bool) error {
		vs.Spec.AWSName = ptr.To(name + "." + c.Namespace)
		vs.Spec.Provider = appmeshv1beta2.VirtualServiceProvider{
			VirtualRouter: &appmeshv1beta2.VirtualRouterServiceProvider{
				VirtualRouterRef: &appmeshv1beta2.VirtualRouterReference{Name: routerName},
			},
		}
		return nil
	})
}

// SetRoutes writes the weights on the apex router's weighted routes; the
// A/B default route stays on the primary.
func (r *V1beta2) SetRoutes(ctx context.Context, c *flaggerv1.Canary, w router.Weights) error {
	return r.writeWeights(ctx, c, w, false)
}

// GetRoutes reads the weights of the apex router's weighted route.
func (r *V1beta2) GetRoutes(ctx context.Context, c *flaggerv1.Canary) (router.Weights, error) {
	n := namesOf(c)
	vr := &appmeshv1beta2.VirtualRouter{ObjectMeta: metav1.ObjectMeta{Name: n.apex, Namespace: c.Namespace}}
	found, err := router.Get(ctx, r.client, router.Object{Kind: virtualRouterV1beta2, Obj: vr}, false)
	if err != nil {
		return router.Weights{}, err
	}
	if !found {
		return router.Weights{}, router.NotReconciled("VirtualRouter", n.apex)
	}
	w, ok := v1beta2Weights(vr.Spec.Routes, n)
	if !ok {
		return router.Weights{}, fmt.Errorf("VirtualRouter %s has no route %s with targets %s and %s", n.apex, n.weightedRoute(), n.primary, n.canary)
	}
	return w, nil
}

// Finalize sends every route of the apex router, the A/B default route
// included, to the canary virtual node: its pods are the target workload,
// which outlives the primary once the Canary is deleted.
func (r *V1beta2) Finalize(ctx context.Context, c *flaggerv1.Canary) error {
	return r.writeWeights(ctx, c, finalWeights, true)
}

// writeWeights patches the apex router's weights. On finalize a missing
// router (or App Mesh kind) means nothing routes through App Mesh, so
// there is nothing to restore.
func (r *V1beta2) writeWeights(ctx context.Context, c *flaggerv1.Canary, w router.Weights, finalize bool) error {
	n := namesOf(c)
	vr := &appmeshv1beta2.VirtualRouter{ObjectMeta: metav1.ObjectMeta{Name: n.apex, Namespace: c.Namespace}}
	o := router.Object{Kind: virtualRouterV1beta2, Obj: vr}
	found, err := router.Get(ctx, r.client, o, finalize)
	if err != nil || (!found && finalize) {
		return err
	}
	if !found {
		return router.NotReconciled("VirtualRouter", n.apex)
	}
	before := vr.DeepCopy()
	setV1beta2Weights(vr.Spec.Routes, n, w, finalize)
	return router.Patch(ctx, r.client, o, before)
}

// Cleanup deletes the canary's App Mesh v1beta2 objects.
func (r *V1beta2) Cleanup(ctx context.Context, c *flaggerv1.Canary) error {
	n := namesOf(c)
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: c.Namespace} }
	return router.DeleteOwned(ctx, r.client, c, []router.Object{
		{Kind: virtualServiceV1beta2, Obj: &appmeshv1beta2.VirtualService{ObjectMeta: meta(n.apex)}},
		{Kind: virtualServiceV1beta2, Obj: &appmeshv1beta2.VirtualService{ObjectMeta: meta(n.canary)}},
		{Kind: virtualRouterV1beta2, Obj: &appmeshv1beta2.VirtualRouter{ObjectMeta: meta(n.apex)}},
		{Kind: virtualRouterV1beta2, Obj: &appmeshv1beta2.VirtualRouter{ObjectMeta: meta(n.canary)}},
		{Kind: virtualNodeV1beta2, Obj: &appmeshv1beta2.VirtualNode{ObjectMeta: meta(n.primary)}},
		{Kind: virtualNodeV1beta2, Obj: &appmeshv1beta2.VirtualNode{ObjectMeta: meta(n.canary)}},
	})
}
