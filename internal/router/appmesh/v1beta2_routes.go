package appmesh

import (
	"strings"
	"time"

	"k8s.io/utils/ptr"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	appmeshv1beta2 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
)

// v1beta2ApexRoutes are the apex router's routes: one weighted route, or
// for A/B one weighted route per match entry ahead of a default route that
// keeps everyone else on the primary.
func (s routeSettings) v1beta2ApexRoutes(n names, w router.Weights) []appmeshv1beta2.Route {
	if len(s.matches) == 0 {
		return []appmeshv1beta2.Route{s.v1beta2Route(n.weightedRoute(), requestMatch{}, v1beta2Targets(n, w))}
	}
	routes := make([]appmeshv1beta2.Route, 0, len(s.matches)+1)
	for i, m := range s.matches {
		rt := s.v1beta2Route(n.headerRoute(i), m, v1beta2Targets(n, w))
		rt.Priority = ptr.To(headerRoutePriority)
		routes = append(routes, rt)
	}
	def := s.v1beta2Route(n.defaultRoute(), requestMatch{}, v1beta2Targets(n, initialWeights))
	def.Priority = ptr.To(defaultRoutePriority)
	return append(routes, def)
}

// v1beta2Route is a gRPC route for a gRPC listener and an HTTP route
// otherwise, since App Mesh needs the route's protocol to match.
func (s routeSettings) v1beta2Route(name string, m requestMatch, targets []appmeshv1beta2.WeightedTarget) appmeshv1beta2.Route {
	if s.protocol == appMeshProtocolGRPC {
		return appmeshv1beta2.Route{Name: name, GRPCRoute: &appmeshv1beta2.GRPCRoute{
			Match:       appmeshv1beta2.GRPCRouteMatch{Metadata: v1beta2Metadata(m.headers)},
			Action:      appmeshv1beta2.GRPCRouteAction{WeightedTargets: targets},
			RetryPolicy: s.v1beta2GRPCRetry(),
			Timeout:     s.v1beta2GRPCTimeout(),
		}}
	}
	match := appmeshv1beta2.HTTPRouteMatch{Prefix: ptr.To(s.abPrefix(m)), Headers: v1beta2Headers(m.headers)}
	if m.method != "" {
		match.Method = ptr.To(m.method)
	}
	return appmeshv1beta2.Route{Name: name, HTTPRoute: &appmeshv1beta2.HTTPRoute{
		Match:       match,
		Action:      appmeshv1beta2.HTTPRouteAction{WeightedTargets: targets},
		RetryPolicy: s.v1beta2HTTPRetry(),
		Timeout:     s.v1beta2HTTPTimeout(),
	}}
}

func (s routeSettings) v1beta2HTTPRetry() *appmeshv1beta2.HTTPRetryPolicy {
	return &appmeshv1beta2.HTTPRetryPolicy{
		HTTPRetryEvents: toEvents[appmeshv1beta2.HTTPRetryPolicyEvent](s.retry.httpEvents()),
		TCPRetryEvents:  toEvents[appmeshv1beta2.TCPRetryPolicyEvent](s.retry.tcp),
		MaxRetries:      s.retry.maxRetries,
		PerRetryTimeout: v1beta2Duration(s.retry.perTry),
	}
}

func (s routeSettings) v1beta2GRPCRetry() *appmeshv1beta2.GRPCRetryPolicy {
	return &appmeshv1beta2.GRPCRetryPolicy{
		GRPCRetryEvents: toEvents[appmeshv1beta2.GRPCRetryPolicyEvent](s.retry.grpc),
		HTTPRetryEvents: toEvents[appmeshv1beta2.HTTPRetryPolicyEvent](s.retry.grpcHTTPEvents()),
		TCPRetryEvents:  toEvents[appmeshv1beta2.TCPRetryPolicyEvent](s.retry.tcp),
		MaxRetries:      s.retry.maxRetries,
		PerRetryTimeout: v1beta2Duration(s.retry.perTry),
	}
}

func (s routeSettings) v1beta2HTTPTimeout() *appmeshv1beta2.HTTPTimeout {
	if s.timeout == 0 {
		return nil
	}
	return &appmeshv1beta2.HTTPTimeout{PerRequest: ptr.To(v1beta2Duration(s.timeout))}
}

func (s routeSettings) v1beta2GRPCTimeout() *appmeshv1beta2.GRPCTimeout {
	if s.timeout == 0 {
		return nil
	}
	return &appmeshv1beta2.GRPCTimeout{PerRequest: ptr.To(v1beta2Duration(s.timeout))}
}

// v1beta2Duration writes whole seconds in seconds and anything finer in
// milliseconds, App Mesh's two units.
func v1beta2Duration(d time.Duration) appmeshv1beta2.Duration {
	if d%time.Second == 0 {
		return appmeshv1beta2.Duration{Unit: appmeshv1beta2.DurationUnitS, Value: int64(d / time.Second)}
	}
	return appmeshv1beta2.Duration{Unit: appmeshv1beta2.DurationUnitMS, Value: d.Milliseconds()}
}

func toEvents[E ~string](events []string) []E {
	if len(events) == 0 {
		return nil
	}
	out := make([]E, len(events))
	for i, e := range events {
		out[i] = E(e)
	}
	return out
}

func v1beta2HeaderMatch(m flaggerv1.StringMatch) *appmeshv1beta2.HeaderMatchMethod {
	switch {
	case m.Exact != "":
		return &appmeshv1beta2.HeaderMatchMethod{Exact: ptr.To(m.Exact)}
	case m.Prefix != "":
		return &appmeshv1beta2.HeaderMatchMethod{Prefix: ptr.To(m.Prefix)}
	case m.Suffix != "":
		return &appmeshv1beta2.HeaderMatchMethod{Suffix: ptr.To(m.Suffix)}
	default:
		return &appmeshv1beta2.HeaderMatchMethod{Regex: ptr.To(m.Regex)}
	}
}

func v1beta2Headers(headers []headerMatch) []appmeshv1beta2.HTTPRouteHeader {
	var out []appmeshv1beta2.HTTPRouteHeader
	for _, h := range headers {
		out = append(out, appmeshv1beta2.HTTPRouteHeader{Name: h.name, Match: v1beta2HeaderMatch(h.match)})
	}
	return out
}

// v1beta2Metadata matches headers on a gRPC route, where they are metadata.
func v1beta2Metadata(headers []headerMatch) []appmeshv1beta2.GRPCRouteMetadata {
	var out []appmeshv1beta2.GRPCRouteMetadata
	for _, h := range headers {
		out = append(out, appmeshv1beta2.GRPCRouteMetadata{Name: h.name, Match: v1beta2HeaderMatch(h.match)})
	}
	return out
}

func v1beta2Targets(n names, w router.Weights) []appmeshv1beta2.WeightedTarget {
	return []appmeshv1beta2.WeightedTarget{
		{VirtualNodeRef: &appmeshv1beta2.VirtualNodeReference{Name: n.primary}, Weight: int64(w.Primary)},
		{VirtualNodeRef: &appmeshv1beta2.VirtualNodeReference{Name: n.canary}, Weight: int64(w.Canary)},
	}
}

// v1beta2RouteTargets points at the targets of whichever protocol route is
// set; nil for a route without one.
func v1beta2RouteTargets(rt *appmeshv1beta2.Route) *[]appmeshv1beta2.WeightedTarget {
	switch {
	case rt.HTTPRoute != nil:
		return &rt.HTTPRoute.Action.WeightedTargets
	case rt.HTTP2Route != nil:
		return &rt.HTTP2Route.Action.WeightedTargets
	case rt.GRPCRoute != nil:
		return &rt.GRPCRoute.Action.WeightedTargets
	default:
		return nil
	}
}

// v1beta2Weights reads the weighted route; ok is false when it is missing
// or names neither virtual node.
func v1beta2Weights(routes []appmeshv1beta2.Route, n names) (w router.Weights, ok bool) {
	for i := range routes {
		if routes[i].Name != n.weightedRoute() {
			continue
		}
		targets := v1beta2RouteTargets(&routes[i])
		if targets == nil {
			return w, false
		}
		for _, t := range *targets {
			switch {
			case t.VirtualNodeRef == nil:
			case t.VirtualNodeRef.Name == n.primary:
				w.Primary, ok = int(t.Weight), true
			case t.VirtualNodeRef.Name == n.canary:
				w.Canary, ok = int(t.Weight), true
			}
		}
		return w, ok
	}
	return w, false
}

// setV1beta2Weights rewrites the targets of the weighted routes, and of
// the A/B default route too when all is set.
func setV1beta2Weights(routes []appmeshv1beta2.Route, n names, w router.Weights, all bool) {
	for i := range routes {
		if routes[i].Name == n.defaultRoute() && !all {
			continue
		}
		if targets := v1beta2RouteTargets(&routes[i]); targets != nil {
			*targets = v1beta2Targets(n, w)
		}
	}
}

// v1beta2Backends turns service.backends into virtual node backends: an
// ARN as is, anything else as a VirtualService reference, where
// name.namespace (or a longer DNS name) also gives the namespace.
func v1beta2Backends(entries []string) []appmeshv1beta2.Backend {
	var out []appmeshv1beta2.Backend
	for _, e := range entries {
		var b appmeshv1beta2.VirtualServiceBackend
		if strings.HasPrefix(e, "arn:aws") {
			b.VirtualServiceARN = ptr.To(e)
		} else {
			parts := strings.Split(e, ".")
			b.VirtualServiceRef = &appmeshv1beta2.VirtualServiceReference{Name: parts[0]}
			if len(parts) > 1 && parts[1] != "" {
				b.VirtualServiceRef.Namespace = ptr.To(parts[1])
			}
		}
		out = append(out, appmeshv1beta2.Backend{VirtualService: b})
	}
	return out
}
