package emulator

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// httpRouteTable finds the HTTPRoute that serves host: a mesh (GAMMA)
// route whose parent is the Service <name>.<namespace>, as Linkerd reads
// it, one listing host in spec.hostnames, or else one named like the host.
func httpRouteTable(ctx context.Context, rd client.Reader, host string) (*table, error) {
	var list gatewayv1.HTTPRouteList
	if err := rd.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list HTTPRoutes: %w", err)
	}
	var byName *gatewayv1.HTTPRoute
	for i := range list.Items {
		hr := &list.Items[i]
		if serviceParent(hr, host) {
			return httpRouteRules(hr), nil
		}
		for _, h := range hr.Spec.Hostnames {
			if hostnameMatches(string(h), host) {
				return httpRouteRules(hr), nil
			}
		}
		if byName == nil && hr.Name+"."+hr.Namespace == host {
			byName = hr
		}
	}
	if byName == nil {
		return nil, nil
	}
	return httpRouteRules(byName), nil
}

// serviceParent reports whether the route is attached to the Service
// whose host (<name>.<namespace>) is host.
func serviceParent(hr *gatewayv1.HTTPRoute, host string) bool {
	for _, p := range hr.Spec.ParentRefs {
		if p.Kind == nil || *p.Kind != "Service" || p.Group == nil || (*p.Group != "" && *p.Group != "core") {
			continue
		}
		ns := hr.Namespace
		if p.Namespace != nil && *p.Namespace != "" {
			ns = string(*p.Namespace)
		}
		if string(p.Name)+"."+ns == host {
			return true
		}
	}
	return false
}

// hostnameMatches implements Gateway API hostnames: exact, or a leading
// "*." wildcard that matches one or more labels.
func hostnameMatches(pattern, host string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
		return strings.HasSuffix(host, suffix) && len(host) > len(suffix)
	}
	return pattern == host
}

// httpRouteRules reads a route's rules: matches, weighted backends (with
// their response header filters), header modifier and URL rewrite filters,
// and a request mirror.
func httpRouteRules(hr *gatewayv1.HTTPRoute) *table {
	t := &table{source: "HTTPRoute " + hr.Namespace + "/" + hr.Name, namespace: hr.Namespace}
	for i, rule := range hr.Spec.Rules {
		rt := route{name: fmt.Sprintf("rule-%d", i), priority: noPriority, edits: gatewayEdits(rule.Filters), mirror: requestMirror(rule.Filters)}
		for _, m := range rule.Matches {
			rt.matches = append(rt.matches, httpRouteMatch(m))
		}
		for _, b := range rule.BackendRefs {
			if b.Kind != nil && *b.Kind != "Service" || b.Group != nil && *b.Group != "" {
				continue
			}
			w := int64(1)
			if b.Weight != nil {
				w = int64(*b.Weight)
			}
			rt.targets = append(rt.targets, target{service: string(b.Name), weight: w, response: gatewayEdits(b.Filters).response})
		}
		t.routes = append(t.routes, rt)
	}
	return t
}

// requestMirror reads a rule's RequestMirror filter: its Service and the
// share of requests copied (percent, fraction, or all).
func requestMirror(filters []gatewayv1.HTTPRouteFilter) *mirror {
	for _, f := range filters {
		m := f.RequestMirror
		if f.Type != gatewayv1.HTTPRouteFilterRequestMirror || m == nil {
			continue
		}
		pct := 100.0
		switch {
		case m.Percent != nil:
			pct = float64(*m.Percent)
		case m.Fraction != nil:
			pct = 100 * float64(m.Fraction.Numerator) / float64(ptr.Deref(m.Fraction.Denominator, 100))
		}
		return &mirror{service: string(m.BackendRef.Name), percent: pct}
	}
	return nil
}

// httpRouteMatch converts path, header and query matches (exact, prefix
// for paths, and regular expressions).
func httpRouteMatch(m gatewayv1.HTTPRouteMatch) match {
	out := match{prefix: "/"}
	if m.Path != nil && m.Path.Value != nil {
		switch t := m.Path.Type; {
		case t == nil || *t == gatewayv1.PathMatchPathPrefix:
			out.prefix = *m.Path.Value
		case *t == gatewayv1.PathMatchExact:
			out.exact = *m.Path.Value
		default:
			out.prefix, out.pathRegex = "", *m.Path.Value
		}
	}
	if m.Method != nil {
		out.method = string(*m.Method)
	}
	for _, h := range m.Headers {
		v := h.Value
		hm := headerMatch{name: string(h.Name), exact: &v}
		if h.Type != nil && *h.Type == gatewayv1.HeaderMatchRegularExpression {
			hm = headerMatch{name: string(h.Name), regex: &v}
		}
		out.headers = append(out.headers, hm)
	}
	for _, q := range m.QueryParams {
		v := q.Value
		qm := headerMatch{name: string(q.Name), exact: &v}
		if q.Type != nil && *q.Type == gatewayv1.QueryParamMatchRegularExpression {
			qm = headerMatch{name: string(q.Name), regex: &v}
		}
		out.query = append(out.query, qm)
	}
	return out
}
