package appmesh

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	appmeshv1beta1 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta1"
)

// ErrNoMeshName says that a v1beta1 canary has no mesh to join. The seed's
// Canary sets no meshName, so the operator flag is the usual fix.
var ErrNoMeshName = errors.New("no App Mesh mesh name for the v1beta1 objects: set spec.service.meshName in the Canary or start the operator with --mesh-name")

// V1beta1 is the appmesh router, for the App Mesh controller v0.x.
type V1beta1 struct {
	client client.Client
	scheme *runtime.Scheme
	// MeshName applies to canaries without spec.service.meshName.
	MeshName string
}

var _ router.Router = (*V1beta1)(nil)

// NewV1beta1 returns the appmesh router. defaultMeshName (the operator's
// --mesh-name) applies to canaries without spec.service.meshName. The
// scheme must know the Canary and the App Mesh v1beta1 types.
func NewV1beta1(cl client.Client, scheme *runtime.Scheme, defaultMeshName string) *V1beta1 {
	return &V1beta1{client: cl, scheme: scheme, MeshName: defaultMeshName}
}

func (r *V1beta1) meshName(c *flaggerv1.Canary) (string, error) {
	switch {
	case c.Spec.Service.MeshName != "":
		return c.Spec.Service.MeshName, nil
	case r.MeshName != "":
		return r.MeshName, nil
	default:
		return "", ErrNoMeshName
	}
}

// serviceName is the v1beta1 VirtualService name, which is also its name
// in the mesh: the DNS name clients call.
func (n names) serviceName(svc string) string { return svc + "." + n.namespace }

// Reconcile creates or patches the virtual nodes, then the virtual
// services that route to them; a missing apex virtual service is created
// with the weights w. The listeners speak HTTP: v1beta1 routes are HTTP
// routes.
func (r *V1beta1) Reconcile(ctx context.Context, c *flaggerv1.Canary, w router.Weights) error {
	mesh, err := r.meshName(c)
	if err != nil {
		return err
	}
	port, err := listenerPort(c, func() (*appsv1.Deployment, error) { return getTarget(ctx, r.client, c) })
	if err != nil {
		return err
	}
	s, err := newRouteSettings(c)
	if err != nil {
		return err
	}
	n := namesOf(c)
	pm := appmeshv1beta1.PortMapping{Port: port, Protocol: appMeshProtocolHTTP}
	for _, node := range []string{n.apex, n.primary, n.canary} {
		if err := r.reconcileNode(ctx, c, mesh, node, pm); err != nil {
			return err
		}
	}
	if err := r.reconcileApexService(ctx, c, mesh, n, s, pm, w); err != nil {
		return err
	}
	return r.reconcileCanaryService(ctx, c, mesh, n, s, pm)
}

// reconcileNode writes a virtual node named after a service, found through
// that service's DNS name. The v0.x sidecar injector attaches pods to the
// virtual node named after their Deployment.
func (r *V1beta1) reconcileNode(ctx context.Context, c *flaggerv1.Canary, mesh, name string, pm appmeshv1beta1.PortMapping) error {
	vn := &appmeshv1beta1.VirtualNode{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.Namespace}}
	return router.Apply(ctx, r.client, r.scheme, c, router.Object{Kind: virtualNodeV1beta1, Obj: vn}, func(bool) error {
		vn.Spec.MeshName = mesh
		vn.Spec.Listeners = []appmeshv1beta1.Listener{{PortMapping: pm}}
		vn.Spec.ServiceDiscovery = &appmeshv1beta1.ServiceDiscovery{
			DNS: &appmeshv1beta1.DNSServiceDiscovery{HostName: name + "." + c.Namespace},
		}
		vn.Spec.Backends = v1beta1Backends(c.Spec.Service.Backends)
		return nil
	})
}

// reconcileApexService writes the apex virtual service and its router,
// keeping the weights it already carries; a new one gets initial.
func (r *V1beta1) reconcileApexService(ctx context.Context, c *flaggerv1.Canary, mesh string, n names, s routeSettings, pm appmeshv1beta1.PortMapping, initial router.Weights) error {
	vs := &appmeshv1beta1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: n.serviceName(n.apex), Namespace: c.Namespace}}
	return router.Apply(ctx, r.client, r.scheme, c, router.Object{Kind: virtualServiceV1beta1, Obj: vs}, func(exists bool) error {
		w := initial
		if cur, ok := v1beta1Weights(vs.Spec.Routes, n); exists && ok {
			w = cur
		}
		vs.Spec.MeshName = mesh
		vs.Spec.VirtualRouter = &appmeshv1beta1.VirtualRouter{
			Name:      n.apex + "-router",
			Listeners: []appmeshv1beta1.VirtualRouterListener{{PortMapping: pm}},
		}
		vs.Spec.Routes = s.v1beta1ApexRoutes(n, w)
		return nil
	})
}

// reconcileCanaryService writes the canary virtual service, which always
// sends everything to the canary.
func (r *V1beta1) reconcileCanaryService(ctx context.Context, c *flaggerv1.Canary, mesh string, n names, s routeSettings, pm appmeshv1beta1.PortMapping) error {
	vs := &appmeshv1beta1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: n.serviceName(n.canary), Namespace: c.Namespace}}
	return router.Apply(ctx, r.client, r.scheme, c, router.Object{Kind: virtualServiceV1beta1, Obj: vs}, func(bool) error {
		vs.Spec.MeshName = mesh
		vs.Spec.VirtualRouter = &appmeshv1beta1.VirtualRouter{
			Name:      n.canary + "-router",
			Listeners: []appmeshv1beta1.VirtualRouterListener{{PortMapping: pm}},
		}
		target := []appmeshv1beta1.WeightedTarget{{VirtualNodeName: n.canary, Weight: 100}}
		vs.Spec.Routes = []appmeshv1beta1.Route{s.v1beta1Route(n.canaryRoute(), requestMatch{}, target)}
		return nil
	})
}

// SetRoutes writes the weights on the apex service's weighted routes; the
// A/B default route stays on the primary.
func (r *V1beta1) SetRoutes(ctx context.Context, c *flaggerv1.Canary, w router.Weights) error {
	return r.writeWeights(ctx, c, w, false)
}

// GetRoutes reads the weights of the apex service's weighted route.
func (r *V1beta1) GetRoutes(ctx context.Context, c *flaggerv1.Canary) (router.Weights, error) {
	n := namesOf(c)
	name := n.serviceName(n.apex)
	vs := &appmeshv1beta1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.Namespace}}
	found, err := router.Get(ctx, r.client, router.Object{Kind: virtualServiceV1beta1, Obj: vs}, false)
	if err != nil {
		return router.Weights{}, err
	}
	if !found {
		return router.Weights{}, router.NotReconciled("VirtualService", name)
	}
	w, ok := v1beta1Weights(vs.Spec.Routes, n)
	if !ok {
		return router.Weights{}, fmt.Errorf("VirtualService %s has no route %s with targets %s and %s", name, n.weightedRoute(), n.primary, n.canary)
	}
	return w, nil
}

// Finalize sends every route of the apex service, the A/B default route
// included, to the canary virtual node: its pods are the target workload,
// which outlives the primary once the Canary is deleted.
func (r *V1beta1) Finalize(ctx context.Context, c *flaggerv1.Canary) error {
	return r.writeWeights(ctx, c, finalWeights, true)
}

// writeWeights patches the apex service's weights. On finalize a missing
// service (or App Mesh kind) means nothing routes through App Mesh.
func (r *V1beta1) writeWeights(ctx context.Context, c *flaggerv1.Canary, w router.Weights, finalize bool) error {
	n := namesOf(c)
	name := n.serviceName(n.apex)
	vs := &appmeshv1beta1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.Namespace}}
	o := router.Object{Kind: virtualServiceV1beta1, Obj: vs}
	found, err := router.Get(ctx, r.client, o, finalize)
	if err != nil || (!found && finalize) {
		return err
	}
	if !found {
		return router.NotReconciled("VirtualService", name)
	}
	before := vs.DeepCopy()
	setV1beta1Weights(vs.Spec.Routes, n, w, finalize)
	return router.Patch(ctx, r.client, o, before)
}

// Cleanup deletes the canary's App Mesh v1beta1 objects.
func (r *V1beta1) Cleanup(ctx context.Context, c *flaggerv1.Canary) error {
	n := namesOf(c)
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: c.Namespace} }
	return router.DeleteOwned(ctx, r.client, c, []router.Object{
		{Kind: virtualServiceV1beta1, Obj: &appmeshv1beta1.VirtualService{ObjectMeta: meta(n.serviceName(n.apex))}},
		{Kind: virtualServiceV1beta1, Obj: &appmeshv1beta1.VirtualService{ObjectMeta: meta(n.serviceName(n.canary))}},
		{Kind: virtualNodeV1beta1, Obj: &appmeshv1beta1.VirtualNode{ObjectMeta: meta(n.apex)}},
		{Kind: virtualNodeV1beta1, Obj: &appmeshv1beta1.VirtualNode{ObjectMeta: meta(n.primary)}},
		{Kind: virtualNodeV1beta1, Obj: &appmeshv1beta1.VirtualNode{ObjectMeta: meta(n.canary)}},
	})
}
