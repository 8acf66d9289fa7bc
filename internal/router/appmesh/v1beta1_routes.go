package appmesh

import (
	"strings"

	"k8s.io/utils/ptr"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	appmeshv1beta1 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta1"
)

// v1beta1ApexRoutes are the apex service's routes, shaped as in v1beta2:
// one weighted route, or for A/B one per match entry ahead of a default
// route on the primary.
func (s routeSettings) v1beta1ApexRoutes(n names, w router.Weights) []appmeshv1beta1.Route {
	if len(s.matches) == 0 {
		return []appmeshv1beta1.Route{s.v1beta1Route(n.weightedRoute(), requestMatch{}, v1beta1Targets(n, w))}
	}
	routes := make([]appmeshv1beta1.Route, 0, len(s.matches)+1)
	for i, m := range s.matches {
		rt := s.v1beta1Route(n.headerRoute(i), m, v1beta1Targets(n, w))
		rt.Priority = ptr.To(headerRoutePriority)
		routes = append(routes, rt)
	}
	def := s.v1beta1Route(n.defaultRoute(), requestMatch{}, v1beta1Targets(n, initialWeights))
	def.Priority = ptr.To(defaultRoutePriority)
	return append(routes, def)
}

func (s routeSettings) v1beta1Route(name string, m requestMatch, targets []appmeshv1beta1.WeightedTarget) appmeshv1beta1.Route {
	match := appmeshv1beta1.HTTPRouteMatch{Prefix: s.abPrefix(m), Headers: v1beta1Headers(m.headers)}
	if m.method != "" {
		match.Method = ptr.To(m.method)
	}
	return appmeshv1beta1.Route{Name: name, HTTP: &appmeshv1beta1.HTTPRoute{
		Match:       match,
		Action:      appmeshv1beta1.HTTPRouteAction{WeightedTargets: targets},
		RetryPolicy: s.v1beta1Retry(),
	}}
}

// v1beta1Retry is set only when service.retries is: the seed's era routes
// had none, and adding one would change how its users' traffic behaves.
func (s routeSettings) v1beta1Retry() *appmeshv1beta1.HTTPRetryPolicy {
	if !s.retrySet {
		return nil
	}
	return &appmeshv1beta1.HTTPRetryPolicy{
		PerRetryTimeoutMillis: ptr.To(s.retry.perTry.Milliseconds()),
		MaxRetries:            ptr.To(s.retry.maxRetries),
		HTTPRetryEvents:       s.retry.httpEvents(),
		TCPRetryEvents:        s.retry.tcp,
	}
}

func v1beta1Headers(headers []headerMatch) []appmeshv1beta1.HTTPRouteHeader {
	var out []appmeshv1beta1.HTTPRouteHeader
	for _, h := range headers {
		out = append(out, appmeshv1beta1.HTTPRouteHeader{Name: h.name, Match: v1beta1HeaderMatch(h.match)})
	}
	return out
}

func v1beta1HeaderMatch(m flaggerv1.StringMatch) *appmeshv1beta1.HeaderMatchMethod {
	switch {
	case m.Exact != "":
		return &appmeshv1beta1.HeaderMatchMethod{Exact: ptr.To(m.Exact)}
	case m.Prefix != "":
		return &appmeshv1beta1.HeaderMatchMethod{Prefix: ptr.To(m.Prefix)}
	case m.Suffix != "":
		return &appmeshv1beta1.HeaderMatchMethod{Suffix: ptr.To(m.Suffix)}
	default:
		return &appmeshv1beta1.HeaderMatchMethod{Regex: ptr.To(m.Regex)}
	}
}

func v1beta1Targets(n names, w router.Weights) []appmeshv1beta1.WeightedTarget {
	return []appmeshv1beta1.WeightedTarget{
		{VirtualNodeName: n.primary, Weight: int64(w.Primary)},
		{VirtualNodeName: n.canary, Weight: int64(w.Canary)},
	}
}

// v1beta1Weights reads the weighted route; ok is false when it is missing
// or names neither virtual node.
func v1beta1Weights(routes []appmeshv1beta1.Route, n names) (w router.Weights, ok bool) {
	for _, rt := range routes {
		if rt.Name != n.weightedRoute() || rt.HTTP == nil {
			continue
		}
		for _, t := range rt.HTTP.Action.WeightedTargets {
			switch t.VirtualNodeName {
			case n.primary:
				w.Primary, ok = int(t.Weight), true
			case n.canary:
				w.Canary, ok = int(t.Weight), true
			}
		}
		return w, ok
	}
	return w, false
}

// setV1beta1Weights rewrites the targets of the weighted routes, and of
// the A/B default route too when all is set.
func setV1beta1Weights(routes []appmeshv1beta1.Route, n names, w router.Weights, all bool) {
	for i := range routes {
		if routes[i].HTTP == nil || (routes[i].Name == n.defaultRoute() && !all) {
			continue
		}
		routes[i].HTTP.Action.WeightedTargets = v1beta1Targets(n, w)
	}
}

// v1beta1Backends turns service.backends into virtual node backends. The
// v1beta1 API names backends only by their mesh name, so an ARN is reduced
// to the virtual service name it ends with.
func v1beta1Backends(entries []string) []appmeshv1beta1.Backend {
	var out []appmeshv1beta1.Backend
	for _, e := range entries {
		name := e
		if strings.HasPrefix(e, "arn:aws") {
			name = e[strings.LastIndex(e, "/")+1:]
		}
		out = append(out, appmeshv1beta1.Backend{VirtualService: appmeshv1beta1.VirtualServiceBackend{VirtualServiceName: name}})
	}
	return out
}
