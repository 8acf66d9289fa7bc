package demo

import (
	"context"
	"fmt"

	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	appmeshv1beta1 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta1"
	appmeshv1beta2 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
)

// Weights are the split on the apex routing object.
type Weights struct{ Primary, Canary int }

func (w Weights) String() string { return fmt.Sprintf("%d/%d", w.Primary, w.Canary) }

// routingObject is the object of a provider that carries the apex split,
// as the operator names it for the Canary podinfo.
type routingObject struct {
	// kind names the object for people.
	kind string
	name func(ns string) string
	// list is a list type for watching the object.
	list func() client.ObjectList
	// weights reads the split; ok is false for an object without one.
	weights func(o runtime.Object) (w Weights, ok bool)
}

// routingObjects are the routing objects per provider.
var routingObjects = map[string]routingObject{
	"appmesh:v1beta2": {
		kind: "VirtualRouter",
		name: func(string) string { return "podinfo" },
		list: func() client.ObjectList { return &appmeshv1beta2.VirtualRouterList{} },
		weights: func(o runtime.Object) (Weights, bool) {
			vr, ok := o.(*appmeshv1beta2.VirtualRouter)
			if !ok {
				return Weights{}, false
			}
			for _, r := range vr.Spec.Routes {
				if r.Name != "podinfo-route" || r.HTTPRoute == nil {
					continue
				}
				var w Weights
				for _, t := range r.HTTPRoute.Action.WeightedTargets {
					if t.VirtualNodeRef != nil {
						w.set(t.VirtualNodeRef.Name, int(t.Weight))
					}
				}
				return w, true
			}
			return Weights{}, false
		},
	},
	"appmesh": {
		kind: "VirtualService",
		name: func(ns string) string { return "podinfo." + ns },
		list: func() client.ObjectList { return &appmeshv1beta1.VirtualServiceList{} },
		weights: func(o runtime.Object) (Weights, bool) {
			vs, ok := o.(*appmeshv1beta1.VirtualService)
			if !ok {
				return Weights{}, false
			}
			for _, r := range vs.Spec.Routes {
				if r.Name != "podinfo-route" || r.HTTP == nil {
					continue
				}
				var w Weights
				for _, t := range r.HTTP.Action.WeightedTargets {
					w.set(t.VirtualNodeName, int(t.Weight))
				}
				return w, true
			}
			return Weights{}, false
		},
	},
	"gatewayapi:v1": httpRoute,
	// Linkerd reads the same HTTPRoute, attached to the apex Service.
	"linkerd": httpRoute,
	"istio": {
		kind: "VirtualService",
		name: func(string) string { return "podinfo" },
		list: func() client.ObjectList { return &istiov1beta1.VirtualServiceList{} },
		weights: func(o runtime.Object) (Weights, bool) {
			vs, ok := o.(*istiov1beta1.VirtualService)
			if !ok || len(vs.Spec.Http) == 0 {
				return Weights{}, false
			}
			var w Weights
			for _, d := range vs.Spec.Http[0].Route {
				w.set(d.GetDestination().GetHost(), int(d.GetWeight()))
			}
			return w, true
		},
	},
}

// httpRoute is the gatewayapi and linkerd providers' HTTPRoute.
var httpRoute = routingObject{
	kind: "HTTPRoute",
	name: func(string) string { return "podinfo" },
	list: func() client.ObjectList { return &gatewayv1.HTTPRouteList{} },
	weights: func(o runtime.Object) (Weights, bool) {
		hr, ok := o.(*gatewayv1.HTTPRoute)
		if !ok || len(hr.Spec.Rules) == 0 {
			return Weights{}, false
		}
		var w Weights
		for _, b := range hr.Spec.Rules[0].BackendRefs {
			if b.Weight != nil {
				w.set(string(b.Name), int(*b.Weight))
			}
		}
		return w, true
	},
}

func (w *Weights) set(target string, weight int) {
	switch target {
	case "podinfo-primary":
		w.Primary = weight
	case "podinfo-canary":
		w.Canary = weight
	}
}

// RoutingKind names the provider's routing object, e.g. VirtualRouter.
func (sc *Scenario) RoutingKind() string { return routingObjects[sc.Provider].kind }

// Weights reads the split on the provider's routing object.
func (sc *Scenario) Weights(ctx context.Context) (Weights, error) {
	ro, ok := routingObjects[sc.Provider]
	if !ok {
		return Weights{}, fmt.Errorf("no routing object known for provider %q", sc.Provider)
	}
	list := ro.list()
	if err := sc.Stack.Client.List(ctx, list, client.InNamespace(sc.Namespace)); err != nil {
		return Weights{}, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return Weights{}, err
	}
	var found Weights
	ok = false
	for _, o := range items {
		if mo, isObj := o.(client.Object); isObj && mo.GetName() == ro.name(sc.Namespace) {
			found, ok = ro.weights(o)
		}
	}
	if !ok {
		return Weights{}, fmt.Errorf("%s %s/%s has no weighted route yet", ro.kind, sc.Namespace, ro.name(sc.Namespace))
	}
	return found, nil
}
