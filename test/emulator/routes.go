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
	// mirror, if set, gets a copy of a share of the route's requests.
	mirror *mirror
	// edits change the route's requests and their answers.
	edits edits
}

// mirror is where a route copies requests to (Istio's mirror), and the
// percentage of requests copied.
type mirror struct {
	service string
	percent float64
}

// match is one set of request criteria that must all hold.
type match struct {
	// prefix of the path; exact, if set, is the whole path; pathRegex, if
	// set, must match the whole path.
	prefix, exact, pathRegex string
	method                   string
	headers                  []headerMatch
	// query matches the URL's query parameters, by name.
	query []headerMatch
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
	// response edits the answers of this target (Gateway API backend
	// filters, Istio destination headers), after the route's.
	response headerEdits
}

// noPriority sorts routes without a priority after those with one.
const noPriority = 1 << 20

// sortRoutes orders routes by priority, keeping the order of equals.
func sortRoutes(rs []route) {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].priority < rs[j].priority })
}

// find returns the first route that matches r, and the path prefix of the
// match that took it ("" for none or another kind of path match).
func (t *table) find(r *http.Request) (route, string, bool) {
	for _, rt := range t.routes {
		if prefix, ok := rt.matchesRequest(r); ok {
			return rt, prefix, true
		}
	}
	return route{}, "", false
}

func (rt route) matchesRequest(r *http.Request) (prefix string, ok bool) {
	if len(rt.matches) == 0 {
		return "", true
	}
	for _, m := range rt.matches {
		if m.matchesRequest(r) {
			return m.prefix, true
		}
	}
	return "", false
}

func (m match) matchesRequest(r *http.Request) bool {
	switch {
	case m.exact != "" && r.URL.Path != m.exact:
		return false
	case m.prefix != "" && !strings.HasPrefix(r.URL.Path, m.prefix):
		return false
	case m.method != "" && !strings.EqualFold(m.method, r.Method):
		return false
	case m.pathRegex != "" && !fullMatch(m.pathRegex, r.URL.Path):
		return false
	}
	for _, h := range m.headers {
		if !h.matchesRequest(r) {
			return false
		}
	}
	for _, q := range m.query {
		if !q.matchesQuery(r) {
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

// matchesQuery matches the query parameter named h.name.
func (h headerMatch) matchesQuery(r *http.Request) bool {
	v, present := r.URL.Query()[h.name]
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
		return fullMatch(*h.regex, v)
	default:
		// A header match without a value matches the header's presence.
		return true
	}
}

// fullMatch reports whether the regular expression matches all of v, as
// Envoy's safe_regex does.
func fullMatch(expr, v string) bool {
	re, err := regexp.Compile("^(?:" + expr + ")$")
	return err == nil && re.MatchString(v)
}
