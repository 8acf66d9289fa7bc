package emulator

import (
	"context"
	"fmt"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// istioTable finds the Istio VirtualService bound to the mesh whose hosts
// include host (a short host name is qualified with the VirtualService's
// namespace, as Istio does) and reads its HTTP routes.
func istioTable(ctx context.Context, rd client.Reader, host string) (*table, error) {
	var list istiov1beta1.VirtualServiceList
	if err := rd.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list Istio VirtualServices: %w", err)
	}
	for _, vs := range list.Items {
		if !boundToMesh(vs.Spec.Gateways) {
			continue
		}
		for _, h := range vs.Spec.Hosts {
			if qualify(h, vs.Namespace) == host {
				return istioRoutes(vs), nil
			}
		}
	}
	return nil, nil
}

// boundToMesh reports whether a VirtualService applies to the sidecars:
// no gateways means the mesh gateway.
func boundToMesh(gateways []string) bool {
	if len(gateways) == 0 {
		return true
	}
	for _, g := range gateways {
		if g == "mesh" {
			return true
		}
	}
	return false
}

// qualify turns a host of a VirtualService into the emulator's host form,
// <name>.<namespace>.
func qualify(host, namespace string) string {
	h := normalizeHost(host)
	if !strings.Contains(h, ".") {
		return h + "." + namespace
	}
	return h
}

func istioRoutes(vs *istiov1beta1.VirtualService) *table {
	t := &table{source: "VirtualService " + vs.Namespace + "/" + vs.Name, namespace: vs.Namespace}
	for i, h := range vs.Spec.Http {
		rt := route{name: fmt.Sprintf("http-%d", i), priority: noPriority, edits: istioEdits(h.GetHeaders(), h.GetRewrite())}
		for _, m := range h.Match {
			rt.matches = append(rt.matches, istioMatch(m))
		}
		for _, d := range h.Route {
			w := int64(d.Weight)
			if len(h.Route) == 1 && w == 0 {
				// A single destination takes all traffic.
				w = 100
			}
			rt.targets = append(rt.targets, target{service: serviceOf(d.GetDestination().GetHost()), weight: w, response: istioEdits(d.GetHeaders(), nil).response})
		}
		if m := h.GetMirror(); m.GetHost() != "" {
			pct := 100.0
			if p := h.GetMirrorPercentage(); p != nil {
				pct = p.GetValue()
			}
			rt.mirror = &mirror{service: serviceOf(m.GetHost()), percent: pct}
		}
		t.routes = append(t.routes, rt)
	}
	return t
}

// serviceOf is the Service name of a destination host: podinfo-canary,
// podinfo-canary.test or podinfo-canary.test.svc.cluster.local.
func serviceOf(host string) string {
	name, _, _ := strings.Cut(normalizeHost(host), ".")
	return name
}

// istioMatch converts a match request. Source labels cannot hold for the
// emulator's callers, which are no workload, so such a match fails.
func istioMatch(m *networking.HTTPMatchRequest) match {
	var out match
	switch u := m.GetUri(); {
	case u.GetExact() != "":
		out.exact = u.GetExact()
	case u.GetPrefix() != "":
		out.prefix = u.GetPrefix()
	case u.GetRegex() != "":
		out.pathRegex = u.GetRegex()
	}
	out.method = m.GetMethod().GetExact()
	for name, v := range m.GetHeaders() {
		out.headers = append(out.headers, istioStringMatch(name, v))
	}
	for name, v := range m.GetQueryParams() {
		out.query = append(out.query, istioStringMatch(name, v))
	}
	if len(m.GetSourceLabels()) > 0 {
		out.exact = "\x00source labels never match the emulator's callers"
	}
	return out
}

func istioStringMatch(name string, m *networking.StringMatch) headerMatch {
	hm := headerMatch{name: name}
	switch v := m.GetMatchType().(type) {
	case *networking.StringMatch_Exact:
		hm.exact = &v.Exact
	case *networking.StringMatch_Prefix:
		hm.prefix = &v.Prefix
	case *networking.StringMatch_Regex:
		hm.regex = &v.Regex
	}
	return hm
}
