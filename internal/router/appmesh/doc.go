// Package appmesh implements the two AWS App Mesh providers.
//
// appmesh:v1beta2 (V1beta2) writes the objects of the current App Mesh
// controller: VirtualNodes <svc>-primary and <svc>-canary that select the
// primary and canary pods, VirtualRouters <svc> (the weighted split) and
// <svc>-canary (all canary), and VirtualServices <svc> and <svc>-canary
// backed by those routers.
//
// appmesh (V1beta1) writes the objects of the App Mesh controller v0.x, the
// seed's era: VirtualNodes <svc>, <svc>-primary and <svc>-canary, and
// VirtualServices <svc>.<ns> and <svc>-canary.<ns> that embed their virtual
// router and routes.
//
// In both, the weighted route of the apex router is the source of truth for
// where traffic goes: Reconcile keeps the weights it finds there (100/0 only
// on creation), SetRoutes and Finalize change them, GetRoutes reads them.
// Reconcile writes with get-compare-patch, so an unchanged canary costs no
// write, and fields owned by the App Mesh controller (awsName defaults,
// meshRef, status) or by others (labels, annotations) are kept.
//
// A/B testing (analysis.match) gives the apex router one route per match
// entry at priority 10, carrying the canary weights, ahead of a default
// route at priority 20 that keeps all other traffic on the primary.
package appmesh

// The routing objects are created, patched, and deleted when a canary
// moves to another provider.
// +kubebuilder:rbac:groups=appmesh.k8s.aws,resources=virtualnodes;virtualrouters;virtualservices,verbs=get;list;watch;create;patch;delete
