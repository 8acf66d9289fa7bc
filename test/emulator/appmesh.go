package emulator

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	appmeshv1beta1 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta1"
	appmeshv1beta2 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
)

// v1beta2Table finds the App Mesh v1beta2 VirtualService whose name in the
// mesh (spec.awsName, else <name>.<namespace>) is host, and reads the
// routes of the virtual router, or the virtual node, that provides it.
func v1beta2Table(ctx context.Context, rd client.Reader, host string) (*table, error) {
	var list appmeshv1beta2.VirtualServiceList
	if err := rd.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list App Mesh v1beta2 VirtualServices: %w", err)
	}
	for i := range list.Items {
		vs := &list.Items[i]
		name := vs.Name + "." + vs.Namespace
		if vs.Spec.AWSName != nil {
			name = *vs.Spec.AWSName
		}
		if name == host {
			return v1beta2Provider(ctx, rd, vs)
		}
	}
	return nil, nil
}

func v1beta2Provider(ctx context.Context, rd client.Reader, vs *appmeshv1beta2.VirtualService) (*table, error) {
	p := vs.Spec.Provider
	switch {
	case p.VirtualNode != nil && p.VirtualNode.VirtualNodeRef != nil:
		ref := p.VirtualNode.VirtualNodeRef
		return &table{
			source:    "VirtualService " + vs.Namespace + "/" + vs.Name,
			namespace: namespaceOr(ref.Namespace, vs.Namespace),
			routes:    []route{{name: "node", priority: noPriority, targets: []target{{service: ref.Name, weight: 1}}}},
		}, nil
	case p.VirtualRouter != nil && p.VirtualRouter.VirtualRouterRef != nil:
		ref := p.VirtualRouter.VirtualRouterRef
		vr := &appmeshv1beta2.VirtualRouter{}
		key := client.ObjectKey{Namespace: namespaceOr(ref.Namespace, vs.Namespace), Name: ref.Name}
		if err := rd.Get(ctx, key, vr); err != nil {
			return nil, fmt.Errorf("get VirtualRouter %s of VirtualService %s/%s: %w", key, vs.Namespace, vs.Name, client.IgnoreNotFound(err))
		}
		return &table{source: "VirtualRouter " + key.String(), namespace: key.Namespace, routes: v1beta2Routes(vr.Spec.Routes)}, nil
	default:
		return nil, fmt.Errorf("VirtualService %s/%s has no provider the emulator can follow", vs.Namespace, vs.Name)
	}
}

// v1beta2Routes converts the HTTP and HTTP/2 routes; gRPC routes carry no
// HTTP/1 traffic, which is all the emulator serves.
func v1beta2Routes(in []appmeshv1beta2.Route) []route {
	var out []route
	for _, r := range in {
		h := r.HTTPRoute
		if h == nil {
			h = r.HTTP2Route
		}
		if h == nil {
			continue
		}
		rt := route{name: r.Name, priority: noPriority, matches: []match{v1beta2Match(h.Match)}}
		if r.Priority != nil {
			rt.priority = *r.Priority
		}
		for _, t := range h.Action.WeightedTargets {
			if t.VirtualNodeRef != nil {
				rt.targets = append(rt.targets, target{service: t.VirtualNodeRef.Name, weight: t.Weight})
			}
		}
		out = append(out, rt)
	}
	sortRoutes(out)
	return out
}

func v1beta2Match(m appmeshv1beta2.HTTPRouteMatch) match {
	out := match{prefix: deref(m.Prefix), method: deref(m.Method)}
	for _, h := range m.Headers {
		hm := headerMatch{name: h.Name, invert: h.Invert != nil && *h.Invert}
		if h.Match != nil {
			hm.exact, hm.prefix, hm.suffix, hm.regex = h.Match.Exact, h.Match.Prefix, h.Match.Suffix, h.Match.Regex
		}
		out.headers = append(out.headers, hm)
	}
	return out
}

// v1beta1Table finds the App Mesh v1beta1 VirtualService named host (in
// App Mesh controller v0.x the object's name is the DNS name clients call)
// and reads its embedded routes.
func v1beta1Table(ctx context.Context, rd client.Reader, host string) (*table, error) {
	var list appmeshv1beta1.VirtualServiceList
	if err := rd.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list App Mesh v1beta1 VirtualServices: %w", err)
	}
	for i := range list.Items {
		vs := &list.Items[i]
		if vs.Name != host {
			continue
		}
		t := &table{source: "VirtualService " + vs.Namespace + "/" + vs.Name, namespace: vs.Namespace}
		for _, r := range vs.Spec.Routes {
			if r.HTTP == nil {
				continue
			}
			rt := route{name: r.Name, priority: noPriority, matches: []match{v1beta1Match(r.HTTP.Match)}}
			if r.Priority != nil {
				rt.priority = *r.Priority
			}
			for _, wt := range r.HTTP.Action.WeightedTargets {
				rt.targets = append(rt.targets, target{service: wt.VirtualNodeName, weight: wt.Weight})
			}
			t.routes = append(t.routes, rt)
		}
		sortRoutes(t.routes)
		return t, nil
	}
	return nil, nil
}

func v1beta1Match(m appmeshv1beta1.HTTPRouteMatch) match {
	out := match{prefix: m.Prefix, method: deref(m.Method)}
	for _, h := range m.Headers {
		hm := headerMatch{name: h.Name, invert: h.Invert != nil && *h.Invert}
		if h.Match != nil {
			hm.exact, hm.prefix, hm.suffix, hm.regex = h.Match.Exact, h.Match.Prefix, h.Match.Suffix, h.Match.Regex
		}
		out.headers = append(out.headers, hm)
	}
	return out
}

func namespaceOr(ns *string, def string) string {
	if ns != nil && *ns != "" {
		return *ns
	}
	return def
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
