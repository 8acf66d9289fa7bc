// Package istio implements the istio provider, with Flagger's objects: a
// VirtualService named after the apex service whose HTTP route splits
// traffic by weight between the <svc>-primary and <svc>-canary services,
// and a DestinationRule for each of them carrying spec.service.trafficPolicy.
//
// The VirtualService answers for spec.service.hosts and the apex service,
// on spec.service.gateways (the mesh gateway when none is set), and every
// route carries the canary's match, rewrite, timeout, retries, corsPolicy
// and headers. Release strategies shape the route list:
//
//   - weighted or blue/green: one route with both destinations; with
//     analysis.mirror it also mirrors requests (mirrorWeight percent of
//     them) to the canary while the canary gets no weight;
//   - A/B (analysis.match): a route per match, merged with the service's
//     match, that carries the weights, then a route to the primary;
//   - session affinity: while the canary has weight, a route that sends
//     requests with the canary's cookie to the canary, ahead of the
//     weighted route, whose canary destination sets that cookie; at weight
//     0 a route that expires the cookie of the last analysed revision.
//
// The weighted route is the source of truth for where traffic goes:
// Reconcile keeps the weights and mirroring it finds there, and only
// SetRoutes and Finalize change them.
package istio

// +kubebuilder:rbac:groups=networking.istio.io,resources=virtualservices;destinationrules,verbs=get;list;watch;create;patch;delete
