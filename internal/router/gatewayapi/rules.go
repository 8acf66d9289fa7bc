package gatewayapi

import (
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
)

// ruleSet is what every rule of the canary carries.
type ruleSet struct {
	c *flaggerv1.Canary
	// paths are spec.service.match; one empty match means every path.
	paths   []gatewayv1.HTTPRouteMatch
	filters []gatewayv1.HTTPRouteFilter
}

// desiredRules are the canary's rules with the weights w:
//
//   - weighted or blue/green: one rule with both backends, which also
//     mirrors requests to the canary when w.Mirrored;
//   - A/B: a rule per analysis.match entry carrying the weights, then a
//     rule that keeps everyone else on the primary;
//   - session affinity: sticky rules ahead of the weighted one (see
//     affinityRules).
func desiredRules(c *flaggerv1.Canary, w router.Weights, provider string) ([]gatewayv1.HTTPRouteRule, error) {
	filters, err := ruleFilters(c, provider)
	if err != nil {
		return nil, err
	}
	s := ruleSet{c: c, paths: routeMatches(c.Spec.Service.Match), filters: filters}
	if isAB(c) {
		var rules []gatewayv1.HTTPRouteRule
		for _, m := range c.GetAnalysis().Match {
			rules = append(rules, s.rule(combine(s.paths, routeMatch(m)), w))
		}
		rules = append(rules, s.rule(s.paths, initialWeights))
		return rules, checkLimits(rules)
	}
	weighted := s.rule(s.paths, w)
	if w.Mirrored {
		weighted.Filters = append(weighted.Filters, mirrorFilter(c, c.GetAnalysis().MirrorWeight))
	}
	if a := router.AffinityOf(c); a != nil {
		return s.affinityRules(a, weighted, w), nil
	}
	return []gatewayv1.HTTPRouteRule{weighted}, nil
}

// rule routes the matches to the primary and canary services by w.
func (s ruleSet) rule(matches []gatewayv1.HTTPRouteMatch, w router.Weights) gatewayv1.HTTPRouteRule {
	c := s.c
	port := c.Spec.Service.Port
	rule := gatewayv1.HTTPRouteRule{
		Matches: matches,
		Filters: cloneFilters(s.filters),
		BackendRefs: []gatewayv1.HTTPBackendRef{
			backendRef(primaryName(c), port, w.Primary),
			backendRef(canaryName(c), port, w.Canary),
		},
	}
	t, bt := c.Spec.Service.Timeout, c.Spec.Service.BackendTimeout
	if t != "" || bt != "" {
		rule.Timeouts = &gatewayv1.HTTPRouteTimeouts{}
		if t != "" {
			rule.Timeouts.Request = ptr.To(gatewayv1.Duration(t))
		}
		if bt != "" {
			rule.Timeouts.BackendRequest = ptr.To(gatewayv1.Duration(bt))
		}
	}
	return rule
}

// affinityRules pin users to the side the weighted rule sent them to, as
// Flagger's Gateway API router does (see router.Affinity). While the
// canary has weight, its backend sets the canary cookie and a rule ahead
// of the weighted one sends requests with that cookie to the canary; with
// a primary cookie, the primary's backend sets it and a second rule keeps
// its holders on the primary. At weight 0, once a revision was analysed,
// a rule expires the canary cookie and routes its holders as the
// weighted rule does.
func (s ruleSet) affinityRules(a *router.Affinity, weighted gatewayv1.HTTPRouteRule, w router.Weights) []gatewayv1.HTTPRouteRule {
	sticky := func(cookie string, to router.Weights) gatewayv1.HTTPRouteRule {
		return s.rule(combine(s.paths, cookieMatch(cookie)), to)
	}
	if w.Canary == 0 {
		if !router.Started(s.c) {
			return []gatewayv1.HTTPRouteRule{weighted}
		}
		expire := sticky(a.Canary, w)
		expire.Filters = withResponseHeader(expire.Filters, router.SetCookieHeader, a.ExpireCanary())
		return []gatewayv1.HTTPRouteRule{expire, weighted}
	}
	setCookie(&weighted.BackendRefs[1], a.SetCanary())
	rules := []gatewayv1.HTTPRouteRule{sticky(a.Canary, router.Weights{Canary: 100})}
	if a.Primary != "" {
		setCookie(&weighted.BackendRefs[0], a.SetPrimary())
		rules = append(rules, sticky(a.Primary, router.Weights{Primary: 100}))
	}
	return append(rules, weighted)
}

// setCookie makes a backend's responses set a cookie.
func setCookie(b *gatewayv1.HTTPBackendRef, value string) {
	b.Filters = withResponseHeader(b.Filters, router.SetCookieHeader, value)
}

// cookieMatch matches requests that carry cookie (name=value).
func cookieMatch(cookie string) gatewayv1.HTTPRouteMatch {
	return gatewayv1.HTTPRouteMatch{Headers: []gatewayv1.HTTPHeaderMatch{{
		Type: ptr.To(gatewayv1.HeaderMatchRegularExpression), Name: router.CookieHeader, Value: router.CookieRegex(cookie),
	}}}
}

// isSticky tells a session-affinity rule of the canary's cookies.
func isSticky(c *flaggerv1.Canary, r gatewayv1.HTTPRouteRule) bool {
	a := c.GetAnalysis()
	if a == nil || a.SessionAffinity == nil {
		return false
	}
	for _, m := range r.Matches {
		for _, h := range m.Headers {
			if string(h.Name) != router.CookieHeader {
				continue
			}
			if router.IsCookieRegex(h.Value, a.SessionAffinity.CookieName) ||
				(a.SessionAffinity.PrimaryCookieName != "" && router.IsCookieRegex(h.Value, a.SessionAffinity.PrimaryCookieName)) {
				return true
			}
		}
	}
	return false
}

// ownRule tells the canary's rules, which route to its services, from
// rules others added to the route.
func ownRule(c *flaggerv1.Canary, r gatewayv1.HTTPRouteRule) bool {
	for _, b := range r.BackendRefs {
		if n := string(b.Name); n == primaryName(c) || n == canaryName(c) {
			return true
		}
	}
	return false
}

// merge returns the desired rules with what others added to the route:
// their filters on the canary's rules (any type the router does not
// write, such as an ExtensionRef) go on each of the desired rules, and
// their rules follow the canary's.
func merge(c *flaggerv1.Canary, current, desired []gatewayv1.HTTPRouteRule) []gatewayv1.HTTPRouteRule {
	var foreignFilters []gatewayv1.HTTPRouteFilter
	var foreignRules []gatewayv1.HTTPRouteRule
	for _, r := range current {
		if !ownRule(c, r) {
			foreignRules = append(foreignRules, *r.DeepCopy())
			continue
		}
		for _, f := range r.Filters {
			if !ownFilter(c, f) && !containsFilter(foreignFilters, f) {
				foreignFilters = append(foreignFilters, *f.DeepCopy())
			}
		}
	}
	out := make([]gatewayv1.HTTPRouteRule, 0, len(desired)+len(foreignRules))
	for _, r := range desired {
		r.Filters = append(r.Filters, cloneFilters(foreignFilters)...)
		out = append(out, r)
	}
	return append(out, foreignRules...)
}

func containsFilter(list []gatewayv1.HTTPRouteFilter, f gatewayv1.HTTPRouteFilter) bool {
	for _, g := range list {
		if equality.Semantic.DeepEqual(g, f) {
			return true
		}
	}
	return false
}

func cloneFilters(fs []gatewayv1.HTTPRouteFilter) []gatewayv1.HTTPRouteFilter {
	if fs == nil {
		return nil
	}
	out := make([]gatewayv1.HTTPRouteFilter, len(fs))
	for i := range fs {
		out[i] = *fs[i].DeepCopy()
	}
	return out
}

// weightedRule finds the rule that carries the split: the first of the
// canary's rules that is not a session-affinity rule.
func weightedRule(c *flaggerv1.Canary, rules []gatewayv1.HTTPRouteRule) *gatewayv1.HTTPRouteRule {
	for i := range rules {
		if ownRule(c, rules[i]) && !isSticky(c, rules[i]) {
			return &rules[i]
		}
	}
	return nil
}
