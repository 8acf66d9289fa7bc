package gatewayapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	networking "istio.io/api/networking/v1alpha3"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
)

// managedFilters are the filter types the router writes from the canary's
// settings; a filter of another type (or a mirror to another backend) on
// one of the canary's rules was added by someone else and is kept.
var managedFilters = []gatewayv1.HTTPRouteFilterType{
	gatewayv1.HTTPRouteFilterRequestHeaderModifier,
	gatewayv1.HTTPRouteFilterResponseHeaderModifier,
	gatewayv1.HTTPRouteFilterURLRewrite,
	gatewayv1.HTTPRouteFilterCORS,
}

// headerOperations is one side of spec.service.headers, in Istio's shape.
type headerOperations struct {
	Set    map[string]string `json:"set,omitempty"`
	Add    map[string]string `json:"add,omitempty"`
	Remove []string          `json:"remove,omitempty"`
}

// ruleFilters are the filters of every rule of the canary: header
// modifiers (spec.service.headers), the URL rewrite and CORS.
func ruleFilters(c *flaggerv1.Canary, provider string) ([]gatewayv1.HTTPRouteFilter, error) {
	out, err := headerFilters(c.Spec.Service.Headers)
	if err != nil {
		return nil, err
	}
	if f := rewriteFilter(c.Spec.Service.Rewrite); f != nil {
		out = append(out, *f)
	}
	cors, err := corsFilter(c.Spec.Service.CorsPolicy, provider)
	if err != nil || cors == nil {
		return out, err
	}
	return append(out, *cors), nil
}

// headerFilters turns spec.service.headers ({request, response}, each with
// set, add and remove) into header modifier filters.
func headerFilters(raw *apiextensionsv1.JSON) ([]gatewayv1.HTTPRouteFilter, error) {
	if raw == nil {
		return nil, nil
	}
	var h struct {
		Request  *headerOperations `json:"request,omitempty"`
		Response *headerOperations `json:"response,omitempty"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw.Raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("spec.service.headers takes request and response, each with set, add and remove: %w", err)
	}
	var out []gatewayv1.HTTPRouteFilter
	if h.Request != nil {
		out = append(out, gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier, RequestHeaderModifier: h.Request.filter()})
	}
	if h.Response != nil {
		out = append(out, gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterResponseHeaderModifier, ResponseHeaderModifier: h.Response.filter()})
	}
	return out, nil
}

func (o *headerOperations) filter() *gatewayv1.HTTPHeaderFilter {
	return &gatewayv1.HTTPHeaderFilter{Set: headers(o.Set), Add: headers(o.Add), Remove: slices.Clone(o.Remove)}
}

// rewriteFilter turns spec.service.rewrite into a URLRewrite filter: the
// authority replaces the host, and uri the whole path or, with type
// ReplacePrefixMatch, the matched prefix.
func rewriteFilter(r *flaggerv1.HTTPRewrite) *gatewayv1.HTTPRouteFilter {
	if r == nil {
		return nil
	}
	f := &gatewayv1.HTTPURLRewriteFilter{}
	if r.Authority != "" {
		f.Hostname = ptr.To(gatewayv1.PreciseHostname(r.Authority))
	}
	if r.URI != "" {
		f.Path = &gatewayv1.HTTPPathModifier{Type: gatewayv1.FullPathHTTPPathModifier, ReplaceFullPath: ptr.To(r.URI)}
		if r.Type == string(gatewayv1.PrefixMatchHTTPPathModifier) {
			f.Path = &gatewayv1.HTTPPathModifier{Type: gatewayv1.PrefixMatchHTTPPathModifier, ReplacePrefixMatch: ptr.To(r.URI)}
		}
	}
	return &gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterURLRewrite, URLRewrite: f}
}

// corsFilter turns spec.service.corsPolicy, an Istio CorsPolicy, into
// Gateway API's CORS filter. What the filter cannot say is refused by
// name rather than dropped.
func corsFilter(raw *apiextensionsv1.JSON, provider string) (*gatewayv1.HTTPRouteFilter, error) {
	if raw == nil {
		return nil, nil
	}
	var p networking.CorsPolicy
	if err := router.DecodeIstio("spec.service.corsPolicy", raw, &p); err != nil {
		return nil, err
	}
	refuse := func(field, reason string) error {
		return &router.UnsupportedFieldError{Field: "spec.service.corsPolicy." + field, Provider: provider, Reason: reason}
	}
	if p.UnmatchedPreflights != networking.CorsPolicy_UNSPECIFIED {
		return nil, refuse("unmatchedPreflights", "the Gateway API CORS filter always answers preflight requests")
	}
	f := &gatewayv1.HTTPCORSFilter{}
	for _, o := range p.AllowOrigin {
		f.AllowOrigins = append(f.AllowOrigins, gatewayv1.CORSOrigin(o))
	}
	for i, o := range p.AllowOrigins {
		exact := o.GetExact()
		if exact == "" {
			return nil, refuse(fmt.Sprintf("allowOrigins[%d]", i), "Gateway API CORS origins are exact (a * may stand for hosts): use exact")
		}
		f.AllowOrigins = append(f.AllowOrigins, gatewayv1.CORSOrigin(exact))
	}
	for _, m := range p.AllowMethods {
		f.AllowMethods = append(f.AllowMethods, gatewayv1.HTTPMethodWithWildcard(m))
	}
	for _, h := range p.AllowHeaders {
		f.AllowHeaders = append(f.AllowHeaders, gatewayv1.HTTPHeaderName(h))
	}
	for _, h := range p.ExposeHeaders {
		f.ExposeHeaders = append(f.ExposeHeaders, gatewayv1.HTTPHeaderName(h))
	}
	if p.MaxAge != nil {
		f.MaxAge = int32(p.MaxAge.AsDuration().Seconds())
	}
	if p.AllowCredentials != nil {
		f.AllowCredentials = ptr.To(p.AllowCredentials.GetValue())
	}
	return &gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterCORS, CORS: f}, nil
}

// mirrorFilter copies percent of a rule's requests (all when 0) to the
// canary service; their answers go nowhere.
func mirrorFilter(c *flaggerv1.Canary, percent int) gatewayv1.HTTPRouteFilter {
	m := &gatewayv1.HTTPRequestMirrorFilter{BackendRef: gatewayv1.BackendObjectReference{
		Group: ptr.To(gatewayv1.Group("")), Kind: ptr.To(gatewayv1.Kind("Service")),
		Name: gatewayv1.ObjectName(canaryName(c)), Port: ptr.To(c.Spec.Service.Port),
	}}
	if percent > 0 {
		m.Percent = ptr.To(int32(percent))
	}
	return gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestMirror, RequestMirror: m}
}

// isCanaryMirror tells the mirror filter this router writes.
func isCanaryMirror(c *flaggerv1.Canary, f gatewayv1.HTTPRouteFilter) bool {
	return f.Type == gatewayv1.HTTPRouteFilterRequestMirror && f.RequestMirror != nil && string(f.RequestMirror.BackendRef.Name) == canaryName(c)
}

// ownFilter tells the filters this router writes on the canary's rules.
func ownFilter(c *flaggerv1.Canary, f gatewayv1.HTTPRouteFilter) bool {
	return slices.Contains(managedFilters, f.Type) || isCanaryMirror(c, f)
}

// withResponseHeader adds a response header to filters: to their response
// header modifier, since a rule or backend may have only one.
func withResponseHeader(filters []gatewayv1.HTTPRouteFilter, name, value string) []gatewayv1.HTTPRouteFilter {
	out := make([]gatewayv1.HTTPRouteFilter, 0, len(filters)+1)
	added := false
	for _, f := range filters {
		f = *f.DeepCopy()
		if f.Type == gatewayv1.HTTPRouteFilterResponseHeaderModifier && f.ResponseHeaderModifier != nil && !added {
			f.ResponseHeaderModifier.Add = append(f.ResponseHeaderModifier.Add, gatewayv1.HTTPHeader{Name: gatewayv1.HTTPHeaderName(name), Value: value})
			added = true
		}
		out = append(out, f)
	}
	if !added {
		out = append(out, gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterResponseHeaderModifier, ResponseHeaderModifier: &gatewayv1.HTTPHeaderFilter{
			Add: []gatewayv1.HTTPHeader{{Name: gatewayv1.HTTPHeaderName(name), Value: value}},
		}})
	}
	return out
}

// headers lists a map sorted by name, so the rendered route is stable.
func headers(m map[string]string) []gatewayv1.HTTPHeader {
	var out []gatewayv1.HTTPHeader
	for _, name := range sortedKeys(m) {
		out = append(out, gatewayv1.HTTPHeader{Name: gatewayv1.HTTPHeaderName(name), Value: m[name]})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
