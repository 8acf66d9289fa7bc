package istio

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	networking "istio.io/api/networking/v1alpha3"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
)

// meshGateway is Istio's name for the sidecars of the mesh.
const meshGateway = "mesh"

// names are the object names of one canary, from the apex service name.
type names struct{ apex, primary, canary string }

func namesOf(c *flaggerv1.Canary) names {
	apex := c.GetServiceName()
	return names{apex: apex, primary: apex + "-primary", canary: apex + "-canary"}
}

// desiredSpec is the VirtualService of the canary with the weights w.
func desiredSpec(c *flaggerv1.Canary, s settings, w router.Weights) *networking.VirtualService {
	return &networking.VirtualService{
		Hosts:    hosts(c),
		Gateways: gateways(c),
		Http:     httpRoutes(c, s, w),
	}
}

// hosts are spec.service.hosts and the apex service, unless listed (or
// "*" covers it).
func hosts(c *flaggerv1.Canary) []string {
	apex := c.GetServiceName()
	out := append([]string(nil), c.Spec.Service.Hosts...)
	for _, h := range out {
		if h == apex || h == "*" {
			return out
		}
	}
	return append(out, apex)
}

func gateways(c *flaggerv1.Canary) []string {
	if len(c.Spec.Service.Gateways) == 0 {
		return []string{meshGateway}
	}
	return append([]string(nil), c.Spec.Service.Gateways...)
}

// httpRoutes shapes the route list for the release strategy (see the
// package documentation).
func httpRoutes(c *flaggerv1.Canary, s settings, w router.Weights) []*networking.HTTPRoute {
	n := namesOf(c)
	if len(s.abMatches) > 0 {
		return []*networking.HTTPRoute{
			s.route(mergeMatches(s.abMatches, s.matches), destination(c, n.primary, w.Primary), destination(c, n.canary, w.Canary)),
			s.route(s.matches, destination(c, n.primary, 100)),
		}
	}
	weighted := s.route(s.matches, destination(c, n.primary, w.Primary), destination(c, n.canary, w.Canary))
	if w.Mirrored {
		weighted.Mirror = &networking.Destination{Host: n.canary}
		if a := c.GetAnalysis(); a != nil && a.MirrorWeight > 0 {
			weighted.MirrorPercentage = &networking.Percent{Value: float64(a.MirrorWeight)}
		}
	}
	if a := router.AffinityOf(c); a != nil {
		return affinityRoutes(c, s, a, weighted, w)
	}
	return []*networking.HTTPRoute{weighted}
}

// route is one HTTP route with the canary's settings.
func (s settings) route(match []*networking.HTTPMatchRequest, dests ...*networking.HTTPRouteDestination) *networking.HTTPRoute {
	return &networking.HTTPRoute{
		Match:      cloneAll(match),
		Rewrite:    clone(s.rewrite),
		Timeout:    clone(s.timeout),
		Retries:    clone(s.retries),
		CorsPolicy: clone(s.cors),
		Headers:    clone(s.headers),
		Route:      dests,
	}
}

// destination routes weight percent to a service. As Flagger does, it
// names the port when the route serves a gateway and the services expose
// several ports (portDiscovery), where Istio cannot pick one.
func destination(c *flaggerv1.Canary, host string, weight int) *networking.HTTPRouteDestination {
	d := &networking.HTTPRouteDestination{Destination: &networking.Destination{Host: host}, Weight: int32(weight)}
	if g := c.Spec.Service.Gateways; c.Spec.Service.PortDiscovery && len(g) > 0 && g[0] != meshGateway {
		d.Destination.Port = &networking.PortSelector{Number: uint32(c.Spec.Service.Port)}
	}
	return d
}

// mergeMatches adds each A/B match's conditions to each of the service's
// matches, so the A/B route only takes requests the service routes at all.
func mergeMatches(ab, service []*networking.HTTPMatchRequest) []*networking.HTTPMatchRequest {
	if len(service) == 0 {
		return ab
	}
	out := make([]*networking.HTTPMatchRequest, 0, len(ab)*len(service))
	for _, a := range ab {
		for _, d := range service {
			m := clone(d)
			if a.Uri != nil {
				m.Uri = clone(a.Uri)
			}
			if a.Method != nil {
				m.Method = clone(a.Method)
			}
			m.Headers = mergeMap(m.Headers, a.Headers)
			m.QueryParams = mergeMap(m.QueryParams, a.QueryParams)
			if a.SourceLabels != nil {
				m.SourceLabels = a.SourceLabels
			}
			out = append(out, m)
		}
	}
	return out
}

func mergeMap(dst, src map[string]*networking.StringMatch) map[string]*networking.StringMatch {
	if len(src) == 0 {
		return dst
	}
	out := make(map[string]*networking.StringMatch, len(dst)+len(src))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		out[k] = clone(v)
	}
	return out
}

// weightedRoute finds the route that carries the split: the first one
// with both destinations, passing over the session-affinity routes.
func weightedRoute(c *flaggerv1.Canary, vs *networking.VirtualService) *networking.HTTPRoute {
	n := namesOf(c)
	cookies := affinityCookieNames(c)
	for _, r := range vs.GetHttp() {
		if slices.ContainsFunc(cookies, func(name string) bool { return matchesCookie(r, name) }) {
			continue
		}
		if dest(r, n.primary) != nil && dest(r, n.canary) != nil {
			return r
		}
	}
	return nil
}

// weightsOf reads the weights and mirroring of the weighted route.
func weightsOf(r *networking.HTTPRoute, n names) router.Weights {
	return router.Weights{
		Primary:  int(dest(r, n.primary).GetWeight()),
		Canary:   int(dest(r, n.canary).GetWeight()),
		Mirrored: r.GetMirror().GetHost() != "",
	}
}

func dest(r *networking.HTTPRoute, host string) *networking.HTTPRouteDestination {
	for _, d := range r.GetRoute() {
		if d.GetDestination().GetHost() == host {
			return d
		}
	}
	return nil
}

// matchesCookie reports whether a route is a session-affinity route of
// the cookie called name.
func matchesCookie(r *networking.HTTPRoute, name string) bool {
	for _, m := range r.GetMatch() {
		for header, v := range m.GetHeaders() {
			if strings.EqualFold(header, router.CookieHeader) && router.IsCookieRegex(v.GetRegex(), name) {
				return true
			}
		}
	}
	return false
}

// clone copies a message, so that no two routes share one; nil stays nil.
func clone[M proto.Message](m M) M {
	if !m.ProtoReflect().IsValid() {
		return m
	}
	return proto.Clone(m).(M)
}

func cloneAll[M proto.Message](ms []M) []M {
	if ms == nil {
		return nil
	}
	out := make([]M, len(ms))
	for i, m := range ms {
		out[i] = clone(m)
	}
	return out
}
