package emulator

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
)

// table is where one virtual host's traffic goes, read from one routing
// object: the routes in the order they are tried.
type table struct {
	// source names the routing object, e.g. "VirtualRouter test/podinfo";
	// it also keys the weighted-choice state of its routes.
	source string
	// namespace of the Services the targets name.
	namespace string
	routes    []route
}

// route is one routing rule of any of the APIs, reduced to what the
// emulator acts on.
type route struct {
	name string
	// priority orders routes; lower first. Rules without one keep their
	// order after those with one.
	priority int64
	// matches are alternatives; none matches every request.
	matches []match
	targets []target
}

// match is one set of request criteria that must all hold.
type match struct {
	// prefix of the path; exact, if set, is the whole path.
	prefix, exact string
	method        string
	headers       []headerMatch
}

// headerMatch matches one header value in one of App Mesh's or Gateway
// API's ways; invert negates it.
type headerMatch struct {
	name                         string
	exact, prefix, suffix, regex *string
	invert                       bool
}

// target is a Service receiving a share of a route's requests: App Mesh
// virtual nodes and Gateway API backends both name a Service of their
// namespace (Flagger names each virtual node after its Service).
type target struct {
	service string
	weight  int64
}

// noPriority sorts routes without a priority after those with one.
const noPriority = 1 << 20

// sortRoutes orders routes by priority, keeping the order of equals.
func sortRoutes(rs []route) {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].priority < rs[j].priority })
}

// find returns the first route that matches r.
func (t *table) find(r *http.Request) (route, bool) {
	for _, rt := range t.routes {
		if rt.matchesRequest(r) {
			return rt, true
		}
	}
	return route{}, false
}

func (rt route) matchesRequest(r *http.Request) bool {
	if len(rt.matches) == 0 {
		return true
	}
	for _, m := range rt.matches {
		if m.matchesRequest(r) {
			return true
		}
	}
	return false
}

func (m match) matchesRequest(r *http.Request) bool {
	switch {
	case m.exact != "" && r.URL.Path != m.exact:
		return false
	case m.prefix != "" && !strings.HasPrefix(r.URL.Path, m.prefix):
		return false
	case m.method != "" && !strings.EqualFold(m.method, r.Method):
		return false
	}
	for _, h := range m.headers {
		if !h.matchesRequest(r) {
			return false
		}
	}
	return true
}

func (h headerMatch) matchesRequest(r *http.Request) bool {
	v, present := r.Header[http.CanonicalHeaderKey(h.name)]
	ok := present && h.matchesValue(strings.Join(v, ","))
	return ok != h.invert
}

func (h headerMatch) matchesValue(v string) bool {
	switch {
	case h.exact != nil:
		return v == *h.exact
	case h.prefix != nil:
		return strings.HasPrefix(v, *h.prefix)
	case h.suffix != nil:
		return strings.HasSuffix(v, *h.suffix)
	case h.regex != nil:
		re, err := regexp.Compile("^(?:" + *h.regex + ")$")
		return err == nil && re.MatchString(v)
	default:
		// A header match without a value matches the header's presence.
		return true
	}
}
