package emulator

import (
	"net/http"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/serin-dev/serin/test/podinfo"
)

// edits are what a route changes in the requests it takes and in their
// answers: Gateway API's header modifier and URL rewrite filters, Istio's
// headers operations.
type edits struct {
	request, response headerEdits
	rewrite           *rewrite
}

// headerEdits set, add and remove headers, in that order.
type headerEdits struct {
	set, add [][2]string
	remove   []string
}

// rewrite replaces the host, and the whole path or the prefix the route
// matched.
type rewrite struct {
	host, fullPath, prefix string
}

func (h headerEdits) apply(header http.Header) {
	for _, kv := range h.set {
		header.Set(kv[0], kv[1])
	}
	for _, kv := range h.add {
		header.Add(kv[0], kv[1])
	}
	for _, name := range h.remove {
		header.Del(name)
	}
}

// applyRequest edits the request forwarded to the backend; matched is the
// path prefix of the route's match that took the request.
func (e edits) applyRequest(r *http.Request, matched string) {
	e.request.apply(r.Header)
	rw := e.rewrite
	if rw == nil {
		return
	}
	if rw.host != "" {
		r.Host = rw.host
	}
	switch {
	case rw.fullPath != "":
		r.URL.Path = rw.fullPath
	case rw.prefix != "" && matched != "":
		rest := strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(matched, "/"))
		r.URL.Path = strings.TrimSuffix(rw.prefix, "/") + "/" + strings.TrimPrefix(rest, "/")
	case rw.prefix != "":
		// Istio replaces the whole path of a match that is no prefix.
		r.URL.Path = rw.prefix
	}
	r.URL.RawPath = ""
}

// gatewayHeaderEdits converts a Gateway API header modifier filter.
func gatewayHeaderEdits(f *gatewayv1.HTTPHeaderFilter) headerEdits {
	var h headerEdits
	if f == nil {
		return h
	}
	for _, kv := range f.Set {
		h.set = append(h.set, [2]string{string(kv.Name), kv.Value})
	}
	for _, kv := range f.Add {
		h.add = append(h.add, [2]string{string(kv.Name), kv.Value})
	}
	h.remove = f.Remove
	return h
}

// gatewayEdits reads a rule's filters: header modifiers and URL rewrite.
func gatewayEdits(filters []gatewayv1.HTTPRouteFilter) edits {
	var e edits
	for _, f := range filters {
		switch f.Type {
		case gatewayv1.HTTPRouteFilterRequestHeaderModifier:
			e.request = gatewayHeaderEdits(f.RequestHeaderModifier)
		case gatewayv1.HTTPRouteFilterResponseHeaderModifier:
			e.response = gatewayHeaderEdits(f.ResponseHeaderModifier)
		case gatewayv1.HTTPRouteFilterURLRewrite:
			e.rewrite = gatewayRewrite(f.URLRewrite)
		}
	}
	return e
}

func gatewayRewrite(f *gatewayv1.HTTPURLRewriteFilter) *rewrite {
	if f == nil {
		return nil
	}
	rw := &rewrite{}
	if f.Hostname != nil {
		rw.host = string(*f.Hostname)
	}
	if p := f.Path; p != nil {
		switch {
		case p.Type == gatewayv1.FullPathHTTPPathModifier && p.ReplaceFullPath != nil:
			rw.fullPath = *p.ReplaceFullPath
		case p.Type == gatewayv1.PrefixMatchHTTPPathModifier && p.ReplacePrefixMatch != nil:
			rw.prefix = *p.ReplacePrefixMatch
		}
	}
	return rw
}

// istioHeaderEdits converts one side of Istio's headers operations.
func istioHeaderEdits(o *networking.Headers_HeaderOperations) headerEdits {
	var h headerEdits
	for k, v := range o.GetSet() {
		h.set = append(h.set, [2]string{k, v})
	}
	for k, v := range o.GetAdd() {
		h.add = append(h.add, [2]string{k, v})
	}
	h.remove = o.GetRemove()
	return h
}

// istioEdits reads an Istio route's (or destination's) headers and
// rewrite.
func istioEdits(h *networking.Headers, rw *networking.HTTPRewrite) edits {
	e := edits{request: istioHeaderEdits(h.GetRequest()), response: istioHeaderEdits(h.GetResponse())}
	if rw != nil {
		e.rewrite = &rewrite{host: rw.GetAuthority(), prefix: rw.GetUri()}
	}
	return e
}

// editingWriter applies response edits just before the status line, when
// the backend's headers have been copied.
type editingWriter struct {
	*podinfo.StatusRecorder
	edits []headerEdits
}

func (w *editingWriter) WriteHeader(code int) {
	if !w.WroteHeader {
		for _, e := range w.edits {
			e.apply(w.Header())
		}
	}
	w.StatusRecorder.WriteHeader(code)
}

func (w *editingWriter) Write(b []byte) (int, error) {
	if !w.WroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.StatusRecorder.Write(b)
}
