package emulator

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// httpRouteTable finds the HTTPRoute that serves host: one listing it in
// spec.hostnames, or else one named like the host (<name>.<namespace>),
// which is how a mesh (GAMMA) route attaches to its Service's name.
func httpRouteTable(ctx context.Context, rd client.Reader, host string) (*table, error) {
	var list gatewayv1.HTTPRouteList
	if err := rd.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list HTTPRoutes: %w", err)
	}
	var byName *gatewayv1.HTTPRoute
	for i := range list.Items {
		hr := &list.Items[i]
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

// hostnameMatches implements Gateway API hostnames: exact, or a leading
// "*." wildcard that matches one or more labels.
func hostnameMatches(pattern, host string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
		return strings.HasSuffix(host, suffix) && len(host) > len(suffix)
	}
	return pattern == host
}

func httpRouteRules(hr *gatewayv1.HTTPRoute) *table {
	t := &table{source: "HTTPRoute " + hr.Namespace + "/" + hr.Name, namespace: hr.Namespace}
	for i, rule := range hr.Spec.Rules {
		rt := route{name: fmt.Sprintf("rule-%d", i), priority: noPriority}
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
			rt.targets = append(rt.targets, target{service: string(b.Name), weight: w})
		}
		t.routes = append(t.routes, rt)
	}
	return t
}

// httpRouteMatch converts path prefix and exact matches and exact header
// matches. Kinds the emulator does not implement (regular expressions on
// paths, query parameters) make the match fail rather than match too much.
func httpRouteMatch(m gatewayv1.HTTPRouteMatch) match {
	out := match{prefix: "/"}
	if m.Path != nil && m.Path.Value != nil {
		switch t := m.Path.Type; {
		case t == nil || *t == gatewayv1.PathMatchPathPrefix:
			out.prefix = *m.Path.Value
		case *t == gatewayv1.PathMatchExact:
			out.exact = *m.Path.Value
		default:
			out.exact = "\x00unsupported path match"
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
	if len(m.QueryParams) > 0 {
		out.exact = "\x00unsupported query match"
	}
	return out
}
