package router

import (
	"fmt"
	"slices"
	"strings"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// The providers, as spec.provider names them.
const (
	Kubernetes      = "kubernetes"
	AppMesh         = "appmesh"
	AppMeshV1beta2  = "appmesh:v1beta2"
	GatewayAPI      = "gatewayapi:v1"
	Istio           = "istio"
	Linkerd         = "linkerd"
	analysisPrefix  = "spec.analysis."
	canaryAnalysis  = "spec.canaryAnalysis."
	analysisCELExpr = "(has(self.analysis) ? 'spec.analysis' : 'spec.canaryAnalysis')"
)

// UnsupportedFieldError says that a canary sets a field its provider
// cannot honour. The Canary CRD refuses such canaries at admission when
// spec.provider names the provider; a canary that takes its provider from
// the operator's --mesh-provider flag is refused by the reconciler instead,
// with the same words.
type UnsupportedFieldError struct {
	// Field is the canary field, e.g. spec.service.corsPolicy.
	Field string
	// Provider cannot honour it.
	Provider string
	// Reason says why, for the user.
	Reason string
}

func (e *UnsupportedFieldError) Error() string {
	return fmt.Sprintf("%s %s not supported by provider %s: %s", e.Field, verb(e.Field), e.Provider, e.Reason)
}

func verb(field string) string {
	if strings.Contains(field, " and ") {
		return "are"
	}
	return "is"
}

// FieldRule is a canary field that some providers refuse. Each rule is
// also an admission rule of the Canary CRD (a marker on CanarySpec):
// CEL and MarkerLine give its text, and a test checks that the CRD holds
// it and refuses what Set reports, with the message Error gives.
type FieldRule struct {
	// Field names the field in messages. A field under spec.analysis. is
	// named spec.canaryAnalysis. in a canary that uses the older name.
	Field string
	// Reason says why the providers refuse it, and who honours it.
	Reason string
	// RefusedBy are the providers that refuse the field.
	RefusedBy []string
	// Set reports whether the canary sets the field.
	Set func(c *flaggerv1.Canary) bool
	// CEL is Set as a CEL expression over CanarySpec (self).
	CEL string
}

// FieldRules are every field some provider refuses. A field a provider
// would accept and ignore belongs here, never silently dropped.
var FieldRules = []FieldRule{
	{
		Field: "spec.service.timeout", RefusedBy: []string{Kubernetes},
		Reason: "the kubernetes provider writes no routes, only ClusterIP Services, which do not time requests out",
		Set:    func(c *flaggerv1.Canary) bool { return c.Spec.Service.Timeout != "" },
		CEL:    "has(self.service.timeout)",
	},
	{
		Field: "spec.service.backendTimeout", RefusedBy: []string{Kubernetes, AppMesh, AppMeshV1beta2, Istio},
		Reason: "it is the backend request timeout of a Gateway API HTTPRoute, which only providers gatewayapi:v1 and linkerd write; use spec.service.timeout",
		Set:    func(c *flaggerv1.Canary) bool { return c.Spec.Service.BackendTimeout != "" },
		CEL:    "has(self.service.backendTimeout)",
	},
	{
		Field: "spec.service.retries", RefusedBy: []string{Kubernetes, GatewayAPI},
		Reason: "only providers appmesh, appmesh:v1beta2, istio and linkerd retry requests (the standard Gateway API HTTPRoute has no retry policy)",
		Set:    func(c *flaggerv1.Canary) bool { return c.Spec.Service.Retries != nil },
		CEL:    "has(self.service.retries)",
	},
	{
		Field: "spec.service.match", RefusedBy: []string{Kubernetes},
		Reason: "the kubernetes provider writes no routes, only ClusterIP Services, which do not look at requests",
		Set:    func(c *flaggerv1.Canary) bool { return len(c.Spec.Service.Match) > 0 },
		CEL:    "has(self.service.match)",
	},
	{
		Field: "spec.service.match", RefusedBy: []string{AppMesh, AppMeshV1beta2},
		Reason: "App Mesh routes take one path prefix from it: set a single entry with uri.prefix only",
		Set:    appMeshCannotMatch,
		CEL:    "has(self.service.match) && (size(self.service.match) > 1 || !self.service.match.all(m, has(m.uri) && has(m.uri.prefix) && !has(m.method) && !has(m.headers) && !has(m.queryParams) && !has(m.sourceLabels)))",
	},
	{
		Field: "spec.analysis.match[].uri", RefusedBy: []string{AppMesh, AppMeshV1beta2},
		Reason: "App Mesh routes match a path by prefix only",
		Set: func(c *flaggerv1.Canary) bool {
			return abMatch(c, func(m flaggerv1.HTTPMatchRequest) bool { return m.URI != nil && m.URI.Prefix == "" })
		},
		CEL: analysisCEL("has($A.match) && $A.match.exists(m, has(m.uri) && !has(m.uri.prefix))"),
	},
	{
		Field: "spec.analysis.match[].method", RefusedBy: []string{AppMesh, AppMeshV1beta2},
		Reason: "App Mesh routes match a method exactly only",
		Set: func(c *flaggerv1.Canary) bool {
			return abMatch(c, func(m flaggerv1.HTTPMatchRequest) bool { return m.Method != nil && m.Method.Exact == "" })
		},
		CEL: analysisCEL("has($A.match) && $A.match.exists(m, has(m.method) && !has(m.method.exact))"),
	},
	{
		Field: "match[].method", RefusedBy: []string{GatewayAPI, Linkerd},
		Reason: "Gateway API routes match a method exactly only: use method.exact",
		Set: func(c *flaggerv1.Canary) bool {
			return anyMatch(c, func(m flaggerv1.HTTPMatchRequest) bool { return m.Method != nil && m.Method.Exact == "" })
		},
		CEL: anyMatchCEL("has(m.method) && !has(m.method.exact)"),
	},
	{
		Field: "match[].queryParams", RefusedBy: []string{AppMesh, AppMeshV1beta2},
		Reason: "App Mesh routes match paths, methods and headers, not query parameters",
		Set: func(c *flaggerv1.Canary) bool {
			return anyMatch(c, func(m flaggerv1.HTTPMatchRequest) bool { return len(m.QueryParams) > 0 })
		},
		CEL: anyMatchCEL("has(m.queryParams)"),
	},
	{
		Field: "match[].sourceLabels", RefusedBy: without(Istio),
		Reason: "only Istio routes (provider istio) match the labels of the calling workload",
		Set: func(c *flaggerv1.Canary) bool {
			return anyMatch(c, func(m flaggerv1.HTTPMatchRequest) bool { return len(m.SourceLabels) > 0 })
		},
		CEL: anyMatchCEL("has(m.sourceLabels)"),
	},
	{
		Field: "spec.service.gateways", RefusedBy: without(Istio),
		Reason: "it names Istio gateways, which only provider istio binds its route to",
		Set:    func(c *flaggerv1.Canary) bool { return len(c.Spec.Service.Gateways) > 0 },
		CEL:    "has(self.service.gateways)",
	},
	{
		Field: "spec.service.gatewayRefs", RefusedBy: without(GatewayAPI),
		Reason: "it names Gateway API gateways, which only provider gatewayapi:v1 attaches its HTTPRoute to",
		Set:    func(c *flaggerv1.Canary) bool { return len(c.Spec.Service.GatewayRefs) > 0 },
		CEL:    "has(self.service.gatewayRefs)",
	},
	{
		Field: "spec.service.hosts", RefusedBy: []string{Kubernetes, Linkerd},
		Reason: "the kubernetes and linkerd providers serve calls to the apex Service, whatever the host name",
		Set:    func(c *flaggerv1.Canary) bool { return len(c.Spec.Service.Hosts) > 0 },
		CEL:    "has(self.service.hosts)",
	},
	{
		Field: "spec.service.trafficPolicy", RefusedBy: without(Istio),
		Reason: "it is an Istio DestinationRule setting (provider istio)",
		Set:    func(c *flaggerv1.Canary) bool { return c.Spec.Service.TrafficPolicy != nil },
		CEL:    "has(self.service.trafficPolicy)",
	},
	{
		Field: "spec.service.meshName", RefusedBy: without(AppMesh),
		Reason: "it names the mesh of App Mesh v1beta1 objects (provider appmesh); App Mesh v1beta2 picks the mesh by the labels of the namespace",
		Set:    func(c *flaggerv1.Canary) bool { return c.Spec.Service.MeshName != "" },
		CEL:    "has(self.service.meshName)",
	},
	{
		Field: "spec.service.backends", RefusedBy: without(AppMesh, AppMeshV1beta2),
		Reason: "they are the backends of App Mesh virtual nodes (providers appmesh and appmesh:v1beta2)",
		Set:    func(c *flaggerv1.Canary) bool { return len(c.Spec.Service.Backends) > 0 },
		CEL:    "has(self.service.backends)",
	},
	{
		Field: "spec.service.headers", RefusedBy: []string{Kubernetes, AppMesh, AppMeshV1beta2},
		Reason: "only providers gatewayapi:v1, istio and linkerd change request and response headers",
		Set:    func(c *flaggerv1.Canary) bool { return c.Spec.Service.Headers != nil },
		CEL:    "has(self.service.headers)",
	},
	{
		Field: "spec.service.corsPolicy", RefusedBy: []string{Kubernetes, AppMesh, AppMeshV1beta2, Linkerd},
		Reason: "only providers gatewayapi:v1 and istio put a CORS policy on their routes",
		Set:    func(c *flaggerv1.Canary) bool { return c.Spec.Service.CorsPolicy != nil },
		CEL:    "has(self.service.corsPolicy)",
	},
	{
		Field: "spec.service.rewrite", RefusedBy: []string{Kubernetes, AppMesh, AppMeshV1beta2, Linkerd},
		Reason: "only providers gatewayapi:v1 and istio rewrite URLs",
		Set:    func(c *flaggerv1.Canary) bool { return c.Spec.Service.Rewrite != nil },
		CEL:    "has(self.service.rewrite)",
	},
	{
		Field: "spec.service.rewrite.type", RefusedBy: []string{Istio},
		Reason: "Istio replaces the matched prefix of a prefix match and the whole path otherwise; type chooses between them on Gateway API routes (provider gatewayapi:v1)",
		Set:    func(c *flaggerv1.Canary) bool { r := c.Spec.Service.Rewrite; return r != nil && r.Type != "" },
		CEL:    "has(self.service.rewrite) && has(self.service.rewrite.type)",
	},
	{
		Field: "spec.analysis.mirror", RefusedBy: []string{Kubernetes, AppMesh, AppMeshV1beta2, Linkerd},
		Reason: "only providers gatewayapi:v1 and istio mirror requests",
		Set:    func(c *flaggerv1.Canary) bool { a := c.GetAnalysis(); return a != nil && a.Mirror },
		CEL:    analysisCEL("has($A.mirror) && $A.mirror"),
	},
	{
		Field: "spec.analysis.sessionAffinity", RefusedBy: []string{Kubernetes, AppMesh, AppMeshV1beta2, Linkerd},
		Reason: "only providers gatewayapi:v1 and istio set affinity cookies and route by them",
		Set:    func(c *flaggerv1.Canary) bool { a := c.GetAnalysis(); return a != nil && a.SessionAffinity != nil },
		CEL:    analysisCEL("has($A.sessionAffinity)"),
	},
	{
		Field: "spec.analysis.match", RefusedBy: []string{Kubernetes},
		Reason: "ClusterIP Services cannot route requests by their content: use iterations without match (blue/green)",
		Set:    func(c *flaggerv1.Canary) bool { a := c.GetAnalysis(); return a != nil && len(a.Match) > 0 },
		CEL:    analysisCEL("has($A.match)"),
	},
	{
		Field: "spec.analysis.judge", RefusedBy: []string{Kubernetes},
		Reason: "it does not split traffic between the canary and the primary, so there is nothing to compare",
		Set:    func(c *flaggerv1.Canary) bool { a := c.GetAnalysis(); return a != nil && a.Judge != nil },
		CEL:    analysisCEL("has($A.judge)"),
	},
	{
		Field: "spec.analysis.stepWeight and stepWeights", RefusedBy: []string{Kubernetes},
		Reason: "ClusterIP Services cannot split traffic by weight: use iterations (blue/green)",
		Set: func(c *flaggerv1.Canary) bool {
			a := c.GetAnalysis()
			return a != nil && (a.StepWeight > 0 || len(a.StepWeights) > 0)
		},
		CEL: analysisCEL("has($A.stepWeight) || has($A.stepWeights)"),
	},
}

// CheckFields returns an UnsupportedFieldError for the first rule that
// refuses a field the canary sets under provider.
func CheckFields(c *flaggerv1.Canary, provider string) error {
	for _, r := range FieldRules {
		if slices.Contains(r.RefusedBy, provider) && r.Set(c) {
			return r.Error(c, provider)
		}
	}
	return nil
}

// Error is the refusal of the field under provider.
func (r FieldRule) Error(c *flaggerv1.Canary, provider string) *UnsupportedFieldError {
	field := r.Field
	if c.Spec.Analysis == nil && c.Spec.CanaryAnalysis != nil {
		if rest, ok := strings.CutPrefix(field, analysisPrefix); ok {
			field = canaryAnalysis + rest
		}
	}
	return &UnsupportedFieldError{Field: field, Provider: provider, Reason: r.Reason}
}

// Rule is the CEL rule of the CRD's admission check for r.
func (r FieldRule) Rule() string {
	quoted := make([]string, len(r.RefusedBy))
	for i, p := range r.RefusedBy {
		quoted[i] = "'" + p + "'"
	}
	return fmt.Sprintf("!has(self.provider) || !(self.provider in [%s]) || !(%s)", strings.Join(quoted, ", "), r.CEL)
}

// MessageExpression is the CEL message of the admission check, the same
// words as Error.
func (r FieldRule) MessageExpression() string {
	tail := fmt.Sprintf(" %s not supported by provider ' + self.provider + ': %s'", verb(r.Field), r.Reason)
	if rest, ok := strings.CutPrefix(r.Field, analysisPrefix); ok {
		return analysisCELExpr + " + '." + rest + tail
	}
	return "'" + r.Field + tail
}

// MarkerLine is the kubebuilder marker that puts r in the CRD.
func (r FieldRule) MarkerLine() string {
	return fmt.Sprintf("// +kubebuilder:validation:XValidation:rule=%q,messageExpression=%q", r.Rule(), r.MessageExpression())
}

// without lists the providers other than keep.
func without(keep ...string) []string {
	var out []string
	for _, p := range Providers {
		if !slices.Contains(keep, p) {
			out = append(out, p)
		}
	}
	return out
}

// anyMatch reports whether one of the canary's service or analysis
// matches satisfies f.
func anyMatch(c *flaggerv1.Canary, f func(flaggerv1.HTTPMatchRequest) bool) bool {
	return slices.ContainsFunc(c.Spec.Service.Match, f) || abMatch(c, f)
}

// abMatch reports whether one of the analysis matches satisfies f.
func abMatch(c *flaggerv1.Canary, f func(flaggerv1.HTTPMatchRequest) bool) bool {
	a := c.GetAnalysis()
	return a != nil && slices.ContainsFunc(a.Match, f)
}

// appMeshCannotMatch reports a service match beyond the one path prefix
// the App Mesh routes read.
func appMeshCannotMatch(c *flaggerv1.Canary) bool {
	ms := c.Spec.Service.Match
	if len(ms) == 0 {
		return false
	}
	m := ms[0]
	onlyPrefix := m.URI != nil && m.URI.Prefix != "" && m.Method == nil && len(m.Headers) == 0 && len(m.QueryParams) == 0 && len(m.SourceLabels) == 0
	return len(ms) > 1 || !onlyPrefix
}

// analysisCEL applies a CEL condition over the analysis, written $A, to
// whichever of spec.analysis and spec.canaryAnalysis is set.
func analysisCEL(cond string) string {
	on := func(field string) string {
		return fmt.Sprintf("(has(%s) && (%s))", field, strings.ReplaceAll(cond, "$A", field))
	}
	return on("self.analysis") + " || " + on("self.canaryAnalysis")
}

// anyMatchCEL applies a CEL condition over a match (m) to the service's
// and the analysis' matches.
func anyMatchCEL(cond string) string {
	return fmt.Sprintf("(has(self.service.match) && self.service.match.exists(m, %s)) || %s",
		cond, analysisCEL(fmt.Sprintf("has($A.match) && $A.match.exists(m, %s)", cond)))
}
