package emulator

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"

	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	appmeshv1beta1 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta1"
	appmeshv1beta2 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
)

// routingKind is a routing API the emulator follows when its CRD is
// installed.
type routingKind struct {
	gvk schema.GroupVersionKind
	// find returns the table of host, or nil when no object serves it.
	find func(ctx context.Context, rd client.Reader, host string) (*table, error)
	// watched is set once the kind's informer has synced.
	watched atomic.Bool
}

// newRoutingKinds lists the routing APIs in the order they are asked about
// a host. App Mesh v1beta1 and v1beta2 share their CRD names, so at most
// one of them is installed.
func newRoutingKinds() []*routingKind {
	return []*routingKind{
		// The routers first: a watched v1beta2 VirtualService is followed
		// to its VirtualRouter.
		{gvk: appmeshv1beta2.GroupVersion.WithKind("VirtualRouter")},
		{gvk: appmeshv1beta2.GroupVersion.WithKind("VirtualService"), find: v1beta2Table},
		{gvk: appmeshv1beta1.GroupVersion.WithKind("VirtualService"), find: v1beta1Table},
		{gvk: istiov1beta1.SchemeGroupVersion.WithKind("VirtualService"), find: istioTable},
		{gvk: gatewayv1.SchemeGroupVersion.WithKind("HTTPRoute"), find: httpRouteTable},
	}
}

// resolver finds where a virtual host's requests go, reading the informer
// cache on every request so that weight changes apply at once.
type resolver struct {
	reader client.Reader
	kinds  []*routingKind
}

// normalizeHost strips the port and the cluster-domain suffix:
// "podinfo.test:9898" and "podinfo.test.svc.cluster.local" are both
// "podinfo.test".
func normalizeHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	for _, suffix := range []string{".svc.cluster.local", ".svc"} {
		h = strings.TrimSuffix(h, suffix)
	}
	return h
}

// resolve returns the routing table of host: the first routing API with an
// object for it, else the Kubernetes Service <name>.<namespace> as
// kube-proxy would route it. nil means the host is unknown.
func (r *resolver) resolve(ctx context.Context, host string) (*table, error) {
	for _, k := range r.kinds {
		if k.find == nil || !k.watched.Load() {
			continue
		}
		t, err := k.find(ctx, r.reader, host)
		if err != nil || t != nil {
			return t, err
		}
	}
	return r.serviceTable(ctx, host)
}

func (r *resolver) serviceTable(ctx context.Context, host string) (*table, error) {
	name, ns, ok := strings.Cut(host, ".")
	if !ok || strings.Contains(ns, ".") {
		return nil, nil
	}
	svc := &corev1.Service{}
	if err := r.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, svc); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("get Service %s/%s: %w", ns, name, err)
	}
	return &table{
		source:    "Service " + ns + "/" + name,
		namespace: ns,
		routes:    []route{{name: "service", priority: noPriority, targets: []target{{service: name, weight: 1}}}},
	}, nil
}
