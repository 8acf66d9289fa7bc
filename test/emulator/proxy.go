package emulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/serin-dev/serin/test/podinfo"
)

// destination is where one request goes.
type destination struct {
	host    string
	service string
	ep      endpoint
	// shadow, if set, gets a copy of the request.
	shadow *endpointOf
	// edits are the route's; response the target's own response edits;
	// matched the path prefix the route matched.
	edits    edits
	response headerEdits
	matched  string
}

// endpointOf is a pod chosen behind a Service.
type endpointOf struct {
	service string
	ep      endpoint
}

// routeError is a request the mesh answers itself, as Envoy does: 404 for
// an unknown host or no matching route, 503 when no pod can take it.
type routeError struct {
	code int
	msg  string
}

func (e *routeError) Error() string { return e.msg }

// dataPlane routes requests by Host to the backend, as the pods they are
// attributed to.
type dataPlane struct {
	resolver  *resolver
	endpoints *endpoints
	splitter  *splitter
	metrics   *meshMetrics
	ledger    *ledger
	proxy     *httputil.ReverseProxy
	log       *slog.Logger
}

func newProxy(backend *url.URL) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(backend)
			// The backend sees the virtual host the client called.
			pr.Out.Host = pr.In.Host
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			http.Error(w, "upstream connect error: "+err.Error(), http.StatusServiceUnavailable)
		},
	}
}

// ServeHTTP is one request through the emulated mesh.
func (d *dataPlane) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	dest, err := d.route(r)
	if err != nil {
		var re *routeError
		if !errors.As(err, &re) {
			d.log.Error("Cannot route request", "host", r.Host, "error", err.Error())
			re = &routeError{code: http.StatusInternalServerError, msg: err.Error()}
		}
		d.ledger.addUnrouted(normalizeHost(r.Host), re.code)
		http.Error(w, re.msg, re.code)
		return
	}
	key := TrafficKey{Namespace: dest.ep.namespace, Host: dest.host, Deployment: dest.ep.deployment, Role: roleOf(dest.service)}
	d.ledger.sent(key)
	if dest.shadow != nil {
		d.mirror(r, dest.host, *dest.shadow)
	}
	out := r.Clone(r.Context())
	dest.edits.applyRequest(out, dest.matched)
	out.Header.Set(podinfo.PodHeader, dest.ep.pod)
	out.Header.Set(podinfo.NamespaceHeader, dest.ep.namespace)
	out.Header.Set(podinfo.ImageHeader, dest.ep.image)
	rec := &podinfo.StatusRecorder{ResponseWriter: w, Code: http.StatusOK}
	d.proxy.ServeHTTP(&editingWriter{StatusRecorder: rec, edits: []headerEdits{dest.edits.response, dest.response}}, out)
	if r.Context().Err() != nil {
		// The client gave up (hey stopping): Envoy would report no
		// response code for the request, and neither does the emulator.
		return
	}
	d.metrics.observe(dest.ep, rec.Code, time.Since(start))
	d.ledger.answered(key, rec.Code)
}

// route resolves the host, picks a route and a target by weight, then a
// ready pod of the target's Service.
func (d *dataPlane) route(r *http.Request) (destination, error) {
	host := normalizeHost(r.Host)
	t, err := d.resolver.resolve(r.Context(), host)
	if err != nil {
		return destination{}, err
	}
	if t == nil {
		return destination{}, &routeError{http.StatusNotFound, fmt.Sprintf("no virtual service for host %q", host)}
	}
	rt, matched, ok := t.find(r)
	if !ok {
		return destination{}, &routeError{http.StatusNotFound, fmt.Sprintf("no route of %s matches %s %s", t.source, r.Method, r.URL.Path)}
	}
	i := d.splitter.pick(t.source+"/"+rt.name, rt.targets)
	if i < 0 {
		return destination{}, &routeError{http.StatusServiceUnavailable, "no healthy upstream"}
	}
	svc := rt.targets[i].service
	ep, ok, err := d.endpoints.pick(r.Context(), t.namespace, svc)
	if err != nil {
		return destination{}, err
	}
	if !ok {
		return destination{}, &routeError{http.StatusServiceUnavailable, "no healthy upstream"}
	}
	dest := destination{host: host, service: svc, ep: ep, edits: rt.edits, response: rt.targets[i].response, matched: matched}
	if m := rt.mirror; m != nil && d.splitter.pick(t.source+"/"+rt.name+"/mirror", mirrorShare(m.percent)) == 0 {
		if sep, ok, err := d.endpoints.pick(r.Context(), t.namespace, m.service); err == nil && ok {
			dest.shadow = &endpointOf{service: m.service, ep: sep}
		}
	}
	return dest, nil
}

// mirrorShare splits requests into those copied (the first target) and
// the others, in per-mille so fractional percentages count.
func mirrorShare(percent float64) []target {
	copied := int64(percent * 10)
	return []target{{service: "mirrored", weight: copied}, {service: "not mirrored", weight: 1000 - copied}}
}

// mirror sends a copy of r to the shadow pod and drops its answer, as
// Envoy does: the copy's Host gets the -shadow suffix, and its answer is
// measured and recorded but never reaches the client. The copy has no
// body; the load tests that mirror send none.
func (d *dataPlane) mirror(r *http.Request, host string, shadow endpointOf) {
	key := TrafficKey{Namespace: shadow.ep.namespace, Host: host, Deployment: shadow.ep.deployment, Role: roleOf(shadow.service), Mirrored: true}
	d.ledger.sent(key)
	// The copy outlives the client's request, within a bound.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	out := r.Clone(ctx)
	out.Body, out.ContentLength = http.NoBody, 0
	out.Host = r.Host + "-shadow"
	out.Header.Set(podinfo.PodHeader, shadow.ep.pod)
	out.Header.Set(podinfo.NamespaceHeader, shadow.ep.namespace)
	out.Header.Set(podinfo.ImageHeader, shadow.ep.image)
	go func() {
		defer cancel()
		start := time.Now()
		rec := httptest.NewRecorder()
		d.proxy.ServeHTTP(rec, out)
		d.metrics.observe(shadow.ep, rec.Code, time.Since(start))
		d.ledger.answered(key, rec.Code)
	}()
}
