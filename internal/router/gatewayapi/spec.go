package gatewayapi

import (
	"fmt"
	"regexp"

	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
)

// The HTTPRoute schema's limits. A route beyond them is rejected by the API
// server with a CEL message about rules; checking first lets the error name
// the canary fields that produced them.
const (
	maxRules   = 16
	maxMatches = 128
)

// initialWeights send everything to the primary: a new route must not
// move traffic before the analysis decides to.
var initialWeights = router.Weights{Primary: 100}

// desiredSpec is the part of the HTTPRoute spec the router owns, with the
// API server's defaults filled in, so that it compares equal to the stored
// object when nothing the canary asks for has changed.
func desiredSpec(c *flaggerv1.Canary, w router.Weights, opts Options) (gatewayv1.HTTPRouteSpec, error) {
	rules, err := desiredRules(c, w, opts.Provider)
	if err != nil {
		return gatewayv1.HTTPRouteSpec{}, err
	}
	spec := gatewayv1.HTTPRouteSpec{Rules: rules}
	if opts.ParentRefs != nil {
		spec.ParentRefs = opts.ParentRefs(c)
	} else {
		spec.ParentRefs = parentRefs(c.Spec.Service.GatewayRefs)
	}
	if !opts.NoHostnames {
		spec.Hostnames = hostnames(c.Spec.Service.Hosts)
	}
	setDefaults(&spec)
	return spec, nil
}

func backendRef(name string, port int32, weight int) gatewayv1.HTTPBackendRef {
	return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{
			Name: gatewayv1.ObjectName(name),
			Port: ptr.To(port),
		},
		Weight: ptr.To(int32(weight)),
	}}
}

func primaryName(c *flaggerv1.Canary) string { return c.GetServiceName() + "-primary" }
func canaryName(c *flaggerv1.Canary) string  { return c.GetServiceName() + "-canary" }

// isAB tells an A/B release, whose header-matched rules carry the weights.
func isAB(c *flaggerv1.Canary) bool {
	a := c.GetAnalysis()
	return a != nil && len(a.Match) > 0
}

func checkLimits(rules []gatewayv1.HTTPRouteRule) error {
	matches := 0
	for _, r := range rules {
		matches += len(r.Matches)
	}
	if len(rules) > maxRules || matches > maxMatches {
		return fmt.Errorf("spec.analysis.match and spec.service.match need %d HTTPRoute rules with %d matches in all, more than the %d rules and %d matches an HTTPRoute holds",
			len(rules), matches, maxRules, maxMatches)
	}
	return nil
}

// parentRefs converts the canary's gatewayRefs. An empty namespace stays
// unset: Gateway API then means the route's namespace, as the canary does.
func parentRefs(refs []flaggerv1.ParentReference) []gatewayv1.ParentReference {
	var out []gatewayv1.ParentReference
	for _, r := range refs {
		p := gatewayv1.ParentReference{Name: gatewayv1.ObjectName(r.Name)}
		if r.Group != nil {
			p.Group = ptr.To(gatewayv1.Group(*r.Group))
		}
		if r.Kind != nil {
			p.Kind = ptr.To(gatewayv1.Kind(*r.Kind))
		}
		if r.Namespace != nil {
			p.Namespace = ptr.To(gatewayv1.Namespace(*r.Namespace))
		}
		if r.SectionName != nil {
			p.SectionName = ptr.To(gatewayv1.SectionName(*r.SectionName))
		}
		if r.Port != nil {
			p.Port = ptr.To(*r.Port)
		}
		out = append(out, p)
	}
	return out
}

func hostnames(hosts []string) []gatewayv1.Hostname {
	var out []gatewayv1.Hostname
	for _, h := range hosts {
		out = append(out, gatewayv1.Hostname(h))
	}
	return out
}

// routeMatches converts spec.service.match; no entry means every path,
// which the defaults later spell as PathPrefix "/".
func routeMatches(ms []flaggerv1.HTTPMatchRequest) []gatewayv1.HTTPRouteMatch {
	if len(ms) == 0 {
		return []gatewayv1.HTTPRouteMatch{{}}
	}
	out := make([]gatewayv1.HTTPRouteMatch, 0, len(ms))
	for _, m := range ms {
		out = append(out, routeMatch(m))
	}
	return out
}

func routeMatch(m flaggerv1.HTTPMatchRequest) gatewayv1.HTTPRouteMatch {
	out := gatewayv1.HTTPRouteMatch{Path: pathMatch(m.URI)}
	// Map order is random; sorting keeps the rendered route stable so a
	// second reconcile sees no change.
	for _, name := range sortedKeys(m.Headers) {
		if h, ok := headerMatch(name, m.Headers[name]); ok {
			out.Headers = append(out.Headers, h)
		}
	}
	if m.Method != nil && m.Method.Exact != "" {
		out.Method = ptr.To(gatewayv1.HTTPMethod(m.Method.Exact))
	}
	for _, name := range sortedKeys(m.QueryParams) {
		if regex, value, ok := matchValue(m.QueryParams[name]); ok {
			t := gatewayv1.QueryParamMatchExact
			if regex {
				t = gatewayv1.QueryParamMatchRegularExpression
			}
			out.QueryParams = append(out.QueryParams, gatewayv1.HTTPQueryParamMatch{Type: ptr.To(t), Name: gatewayv1.HTTPHeaderName(name), Value: value})
		}
	}
	return out
}

// combine adds an A/B entry's conditions to each service path match, so
// the A/B rule only takes requests the route serves at all.
func combine(paths []gatewayv1.HTTPRouteMatch, ab gatewayv1.HTTPRouteMatch) []gatewayv1.HTTPRouteMatch {
	out := make([]gatewayv1.HTTPRouteMatch, 0, len(paths))
	for _, p := range paths {
		m := *p.DeepCopy()
		if ab.Path != nil {
			m.Path = ab.Path.DeepCopy()
		}
		m.Headers = append(m.Headers, ab.Headers...)
		m.QueryParams = append(m.QueryParams, ab.QueryParams...)
		if ab.Method != nil {
			m.Method = ptr.To(*ab.Method)
		}
		out = append(out, m)
	}
	return out
}

func pathMatch(uri *flaggerv1.StringMatch) *gatewayv1.HTTPPathMatch {
	if uri == nil {
		return nil
	}
	if uri.Prefix != "" {
		return &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To(uri.Prefix)}
	}
	regex, value, ok := matchValue(*uri)
	if !ok {
		return nil
	}
	t := gatewayv1.PathMatchExact
	if regex {
		t = gatewayv1.PathMatchRegularExpression
	}
	return &gatewayv1.HTTPPathMatch{Type: ptr.To(t), Value: ptr.To(value)}
}

func headerMatch(name string, m flaggerv1.StringMatch) (gatewayv1.HTTPHeaderMatch, bool) {
	regex, value, ok := matchValue(m)
	t := gatewayv1.HeaderMatchExact
	if regex {
		t = gatewayv1.HeaderMatchRegularExpression
	}
	return gatewayv1.HTTPHeaderMatch{Type: ptr.To(t), Name: gatewayv1.HTTPHeaderName(name), Value: value}, ok
}

// matchValue expresses a string match as an exact value or a regular
// expression. Gateway API has no prefix or suffix match for headers, so
// those become anchored expressions; the anchors and the leading or
// trailing .* make them mean the same under implementations that match the
// whole value and under those that search within it.
func matchValue(m flaggerv1.StringMatch) (regex bool, value string, ok bool) {
	switch {
	case m.Exact != "":
		return false, m.Exact, true
	case m.Regex != "":
		return true, m.Regex, true
	case m.Prefix != "":
		return true, "^" + regexp.QuoteMeta(m.Prefix) + ".*", true
	case m.Suffix != "":
		return true, "^.*" + regexp.QuoteMeta(m.Suffix) + "$", true
	default:
		return false, "", false
	}
}

// setDefaults fills in what the HTTPRoute CRD's schema defaults, so a spec
// written by this package and the one the API server returns compare
// equal. It is applied to the desired spec and to a copy of the stored one.
func setDefaults(spec *gatewayv1.HTTPRouteSpec) {
	for i := range spec.ParentRefs {
		p := &spec.ParentRefs[i]
		if p.Group == nil {
			p.Group = ptr.To(gatewayv1.Group(gatewayv1.GroupName))
		}
		if p.Kind == nil {
			p.Kind = ptr.To(gatewayv1.Kind("Gateway"))
		}
	}
	if len(spec.Rules) == 0 {
		spec.Rules = []gatewayv1.HTTPRouteRule{{}}
	}
	for i := range spec.Rules {
		setRuleDefaults(&spec.Rules[i])
	}
}

func setRuleDefaults(r *gatewayv1.HTTPRouteRule) {
	if len(r.Matches) == 0 {
		r.Matches = []gatewayv1.HTTPRouteMatch{{}}
	}
	for i := range r.Matches {
		m := &r.Matches[i]
		if m.Path == nil {
			m.Path = &gatewayv1.HTTPPathMatch{}
		}
		if m.Path.Type == nil {
			m.Path.Type = ptr.To(gatewayv1.PathMatchPathPrefix)
		}
		if m.Path.Value == nil {
			m.Path.Value = ptr.To("/")
		}
		for j := range m.Headers {
			if m.Headers[j].Type == nil {
				m.Headers[j].Type = ptr.To(gatewayv1.HeaderMatchExact)
			}
		}
		for j := range m.QueryParams {
			if m.QueryParams[j].Type == nil {
				m.QueryParams[j].Type = ptr.To(gatewayv1.QueryParamMatchExact)
			}
		}
	}
	setFilterDefaults(r.Filters)
	for i := range r.BackendRefs {
		b := &r.BackendRefs[i]
		setObjectDefaults(&b.BackendObjectReference)
		if b.Weight == nil {
			b.Weight = ptr.To(int32(1))
		}
		setFilterDefaults(b.Filters)
	}
}

// setFilterDefaults fills in the defaults of the filters the router
// writes: a mirror's backend kind and CORS's max age.
func setFilterDefaults(fs []gatewayv1.HTTPRouteFilter) {
	for i := range fs {
		f := &fs[i]
		if f.RequestMirror != nil {
			setObjectDefaults(&f.RequestMirror.BackendRef)
		}
		if f.CORS != nil && f.CORS.MaxAge == 0 {
			f.CORS.MaxAge = defaultCORSMaxAge
		}
	}
}

// defaultCORSMaxAge is the CORS filter's max age when unset, in seconds.
const defaultCORSMaxAge = 5

func setObjectDefaults(o *gatewayv1.BackendObjectReference) {
	if o.Group == nil {
		o.Group = ptr.To(gatewayv1.Group(""))
	}
	if o.Kind == nil {
		o.Kind = ptr.To(gatewayv1.Kind("Service"))
	}
}
