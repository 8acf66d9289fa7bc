package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// prometheusProvider is the only metrics provider type so far.
const prometheusProvider = "prometheus"

// Result is the outcome of one metric check.
type Result struct {
	// Name of the metric.
	Name string
	// Value measured; meaningful only when Err is nil and NoValues false.
	Value float64
	// Min and Max are the accepted range; a nil bound is open.
	Min, Max *float64
	// Passed is true when the value is within the range.
	Passed bool
	// NoValues is true when the query returned nothing or NaN, most often
	// because the canary receives no traffic. It counts as a failed check.
	NoValues bool
	// Message is the "Halt …" text users see when the check failed; empty
	// when it passed.
	Message string
	// Query is the rendered PromQL, when rendering succeeded.
	Query string
	// Err is set when the query could not be run.
	Err error
}

// Checker runs a canary's metric checks.
type Checker struct {
	// Reader reads MetricTemplates and the Secrets they reference, through
	// the manager's cache.
	Reader client.Reader
	// DefaultServer is the Prometheus address used when neither the
	// template nor the canary's spec.metricsServer names one (the
	// operator's --metrics-server flag).
	DefaultServer string
	// Now is the evaluation time of the queries; time.Now when nil.
	Now func() time.Time

	once             sync.Once
	secure, insecure http.RoundTripper
}

// Check runs every metric of the canary's analysis, in order, and returns
// one Result each; nil when the canary has no analysis. provider is the
// canary's resolved mesh provider, which selects the built-in queries.
func (c *Checker) Check(ctx context.Context, canary *flaggerv1.Canary, provider string) []Result {
	analysis := canary.GetAnalysis()
	if analysis == nil || len(analysis.Metrics) == 0 {
		return nil
	}
	results := make([]Result, 0, len(analysis.Metrics))
	for _, m := range analysis.Metrics {
		results = append(results, c.check(ctx, canary, provider, m))
	}
	return results
}

// plan is a metric's rendered query and where to run it.
type plan struct {
	query  string
	server server
	// source is the metrics provider named in "no values found": the mesh
	// provider for built-in metrics, the template's provider type otherwise.
	source string
	// builtin selects the built-in metrics' message wording.
	builtin bool
}

// check runs one metric.
func (c *Checker) check(ctx context.Context, canary *flaggerv1.Canary, provider string, m flaggerv1.CanaryMetric) Result {
	r := Result{Name: m.Name}
	r.Min, r.Max = thresholds(m)
	p, err := c.plan(ctx, canary, provider, m)
	if err != nil {
		r.Err = fmt.Errorf("metric %s of canary %s: %w", m.Name, canary, err)
		r.Message = failedMessage(canary.String(), m.Name, err)
		return r
	}
	r.Query = p.query
	value, err := query(ctx, p.server, p.query, c.now())
	switch {
	case errors.Is(err, errNoValues):
		r.NoValues = true
		r.Message = noValuesMessage(canary.String(), p.source, m.Name)
	case err != nil:
		r.Err = fmt.Errorf("query metric %s of canary %s on %s: %w", m.Name, canary, p.server.address, err)
		r.Message = fmt.Sprintf("Halt %s advancement %s query failed: %v", canary, m.Name, err)
	default:
		r.Value = value
		r.evaluate(canary.String(), p.builtin)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("Metric checked", "metric", m.Name, "query", r.Query,
		"value", r.Value, "passed", r.Passed, "noValues", r.NoValues)
	return r
}

// plan renders the metric's query and finds its server.
func (c *Checker) plan(ctx context.Context, canary *flaggerv1.Canary, provider string, m flaggerv1.CanaryMetric) (plan, error) {
	vars := varsFor(canary, m)
	if m.TemplateRef != nil {
		return c.templatePlan(ctx, canary, m.TemplateRef, vars)
	}
	p := plan{source: prometheusProvider}
	text := m.Query
	if text == "" {
		q, err := builtinQuery(provider, m.Name)
		if err != nil {
			return plan{}, err
		}
		text, p.source, p.builtin = q, provider, true
	}
	q, err := renderQuery(m.Name, text, vars)
	if err != nil && !p.builtin {
		return plan{}, fmt.Errorf("inline query: %w", err)
	}
	if err != nil {
		return plan{}, err
	}
	p.query = q
	p.server, err = c.server(ctx, "", canary, nil, false)
	return p, err
}

// templatePlan renders the query of a MetricTemplate.
func (c *Checker) templatePlan(ctx context.Context, canary *flaggerv1.Canary,
	ref *flaggerv1.CrossNamespaceObjectReference, vars queryVars) (plan, error) {
	key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
	if key.Namespace == "" {
		key.Namespace = canary.Namespace
	}
	var tmpl flaggerv1.MetricTemplate
	if err := c.Reader.Get(ctx, key, &tmpl); err != nil {
		return plan{}, fmt.Errorf("get metric template %s: %w", key, err)
	}
	prov := tmpl.Spec.Provider
	if prov.Type != "" && prov.Type != prometheusProvider {
		return plan{}, fmt.Errorf("metric template %s: provider type %q is not supported, only %s", key, prov.Type, prometheusProvider)
	}
	q, err := renderQuery(key.String(), tmpl.Spec.Query, vars)
	if err != nil {
		return plan{}, fmt.Errorf("metric template %s: %w", key, err)
	}
	var secret *types.NamespacedName
	if prov.SecretRef != nil {
		secret = &types.NamespacedName{Namespace: tmpl.Namespace, Name: prov.SecretRef.Name}
	}
	s, err := c.server(ctx, prov.Address, canary, secret, prov.InsecureSkipVerify)
	if err != nil {
		return plan{}, fmt.Errorf("metric template %s: %w", key, err)
	}
	return plan{query: q, server: s, source: prometheusProvider}, nil
}

// server resolves the Prometheus address, the first set of: the template's,
// the canary's spec.metricsServer, the operator's default.
func (c *Checker) server(ctx context.Context, address string, canary *flaggerv1.Canary,
	secret *types.NamespacedName, insecure bool) (server, error) {
	for _, a := range []string{address, canary.Spec.MetricsServer, c.DefaultServer} {
		if a != "" {
			address = a
			break
		}
	}
	if address == "" {
		return server{}, errors.New("no metrics server: set spec.metricsServer or the operator's --metrics-server flag")
	}
	rt, err := c.roundTripper(ctx, secret, insecure)
	if err != nil {
		return server{}, err
	}
	return server{address: address, transport: rt}, nil
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
