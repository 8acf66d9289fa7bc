package istio

import (
	networking "istio.io/api/networking/v1alpha3"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
)

// affinityRoutes pins users to the canary once the weighted route sent
// them there (see router.Affinity). While the canary has weight, its
// destination sets the canary's cookie and a route ahead of the weighted
// one sends requests carrying that cookie to the canary; with a primary
// cookie, the primary's destination sets it and a second route keeps its
// holders on the primary. At weight 0 (before the first step, after
// promotion or rollback) a route instead expires the canary cookie and
// sends its holders where the weighted route does.
func affinityRoutes(c *flaggerv1.Canary, s settings, a *router.Affinity, weighted *networking.HTTPRoute, w router.Weights) []*networking.HTTPRoute {
	n := namesOf(c)
	sticky := func(cookie string) *networking.HTTPRoute {
		return s.route(mergeMatches([]*networking.HTTPMatchRequest{cookieMatch(cookie)}, s.matches))
	}
	canaryRoute := sticky(a.Canary)
	if w.Canary == 0 {
		if !router.Started(c) {
			return []*networking.HTTPRoute{weighted}
		}
		canaryRoute.Route = cloneAll(weighted.Route)
		canaryRoute.Headers = withResponseHeader(canaryRoute.Headers, router.SetCookieHeader, a.ExpireCanary())
		return []*networking.HTTPRoute{canaryRoute, weighted}
	}
	canaryDest := dest(weighted, n.canary)
	canaryDest.Headers = withResponseHeader(canaryDest.Headers, router.SetCookieHeader, a.SetCanary())
	canaryRoute.Route = []*networking.HTTPRouteDestination{destination(c, n.primary, 0), destination(c, n.canary, 100)}
	routes := []*networking.HTTPRoute{canaryRoute}
	if a.Primary != "" {
		primaryDest := dest(weighted, n.primary)
		primaryDest.Headers = withResponseHeader(primaryDest.Headers, router.SetCookieHeader, a.SetPrimary())
		primaryRoute := sticky(a.Primary)
		primaryRoute.Route = []*networking.HTTPRouteDestination{destination(c, n.primary, 100), destination(c, n.canary, 0)}
		routes = append(routes, primaryRoute)
	}
	return append(routes, weighted)
}

// affinityCookieNames are the names of the canary's cookies, or none
// without session affinity.
func affinityCookieNames(c *flaggerv1.Canary) []string {
	a := c.GetAnalysis()
	if a == nil || a.SessionAffinity == nil {
		return nil
	}
	names := []string{a.SessionAffinity.CookieName}
	if p := a.SessionAffinity.PrimaryCookieName; p != "" {
		names = append(names, p)
	}
	return names
}

// cookieMatch matches requests carrying the cookie name=value.
func cookieMatch(cookie string) *networking.HTTPMatchRequest {
	return &networking.HTTPMatchRequest{Headers: map[string]*networking.StringMatch{
		router.CookieHeader: {MatchType: &networking.StringMatch_Regex{Regex: router.CookieRegex(cookie)}},
	}}
}

func withResponseHeader(h *networking.Headers, name, value string) *networking.Headers {
	h = clone(h)
	if h == nil {
		h = &networking.Headers{}
	}
	if h.Response == nil {
		h.Response = &networking.Headers_HeaderOperations{}
	}
	add := make(map[string]string, len(h.Response.Add)+1)
	for k, v := range h.Response.Add {
		add[k] = v
	}
	add[name] = value
	h.Response.Add = add
	return h
}
