package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/egress"
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

// SecretReader reads the Secret a MetricTemplate names.
type SecretReader interface {
	Secret(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error)
}

// Checker runs a canary's metric checks.
type Checker struct {
	// Reader reads MetricTemplates, through the manager's cache.
	Reader client.Reader
	// Secrets reads the Secrets MetricTemplates name.
	Secrets SecretReader
	// DefaultServer is the Prometheus address used when neither the
	// template nor the canary's spec.metricsServer names one (the
	// operator's --metrics-server flag).
	DefaultServer string
	// NoCrossNamespaceRefs refuses templates in another namespace than the
	// canary's (the operator's --no-cross-namespace-refs flag).
	NoCrossNamespaceRefs bool
	// Egress is the networks queries may reach; egress.DefaultDenied is
	// refused when nil.
	Egress *egress.Policy
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
		if m.Compare != nil {
			continue // judged against the primary: see Compare
		}
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
	log := ctrl.LoggerFrom(ctx)
	switch {
	case errors.Is(err, errNoValues):
		r.NoValues = true
		r.Message = noValuesMessage(canary.String(), p.source, m.Name)
	case err != nil:
		r.Err = fmt.Errorf("query metric %s of canary %s on %s: %w", m.Name, canary, redacted(p.server.address), err)
		// The reply came from an address a tenant wrote: the status gets
		// a short description, the log the details.
		r.Message = fmt.Sprintf("Halt %s advancement %s query failed: %s", canary, m.Name, queryProblem(err))
		log.Info("Metric query failed", "canary", canary.String(), "metric", m.Name, "error", egress.Sanitize(r.Err.Error(), logErrorLength))
	default:
		r.Value = value
		r.evaluate(canary.String(), p.builtin)
	}
	log.V(1).Info("Metric checked", "metric", m.Name, "query", r.Query,
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
	p.server, err = c.server(canary, "", false)
	return p, err
}

// templatePlan renders the query of a MetricTemplate.
func (c *Checker) templatePlan(ctx context.Context, canary *flaggerv1.Canary,
	ref *flaggerv1.CrossNamespaceObjectReference, vars queryVars) (plan, error) {
	tmpl, err := c.template(ctx, canary, ref)
	if err != nil {
		return plan{}, err
	}
	key := client.ObjectKeyFromObject(tmpl)
	if tmpl.Spec.Query == "" {
		return plan{}, fmt.Errorf("metric template %s has no query: it holds only compare queries, for metrics with compare", key)
	}
	q, err := renderQuery(key.String(), tmpl.Spec.Query, vars)
	if err != nil {
		return plan{}, fmt.Errorf("metric template %s: %w", key, err)
	}
	s, err := c.templateServer(ctx, canary, tmpl)
	return plan{query: q, server: s, source: prometheusProvider}, err
}

// template reads the MetricTemplate a metric names.
func (c *Checker) template(ctx context.Context, canary *flaggerv1.Canary, ref *flaggerv1.CrossNamespaceObjectReference) (*flaggerv1.MetricTemplate, error) {
	key := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
	if key.Namespace == "" {
		key.Namespace = canary.Namespace
	}
	if c.NoCrossNamespaceRefs && key.Namespace != canary.Namespace {
		return nil, fmt.Errorf("metric template %s is in another namespace, which the operator refuses (--no-cross-namespace-refs)", key)
	}
	var tmpl flaggerv1.MetricTemplate
	if err := c.Reader.Get(ctx, key, &tmpl); err != nil {
		return nil, fmt.Errorf("get metric template %s: %w", key, err)
	}
	if t := tmpl.Spec.Provider.Type; t != "" && t != prometheusProvider {
		return nil, fmt.Errorf("metric template %s: provider type %q is not supported, only %s", key, t, prometheusProvider)
	}
	return &tmpl, nil
}

// templateServer is where a MetricTemplate's queries run, with its
// credentials and headers.
func (c *Checker) templateServer(ctx context.Context, canary *flaggerv1.Canary, tmpl *flaggerv1.MetricTemplate) (server, error) {
	prov := tmpl.Spec.Provider
	if err := checkHeaders(prov); err != nil {
		return server{}, fmt.Errorf("metric template %s: %w", client.ObjectKeyFromObject(tmpl), err)
	}
	s, err := c.templateConnection(ctx, canary, tmpl)
	if err == nil && len(prov.Headers) > 0 {
		s.transport = withHeaders(s.transport, prov.Headers)
	}
	return s, err
}

// templateConnection is the address and transport of a MetricTemplate's
// queries: with the Secret's credentials when it names one.
func (c *Checker) templateConnection(ctx context.Context, canary *flaggerv1.Canary, tmpl *flaggerv1.MetricTemplate) (server, error) {
	key := client.ObjectKeyFromObject(tmpl)
	prov := tmpl.Spec.Provider
	if prov.SecretRef == nil {
		return c.server(canary, prov.Address, prov.InsecureSkipVerify)
	}
	// Credentials go only to the address written next to them, never to
	// the canary's metrics server or the operator's default: the canary
	// may belong to another tenant than the template and its Secret.
	if prov.Address == "" {
		return server{}, fmt.Errorf("metric template %s: provider.secretRef needs provider.address: credentials are only sent to the address written next to them", key)
	}
	secret := types.NamespacedName{Namespace: tmpl.Namespace, Name: prov.SecretRef.Name}
	rt, err := c.authTransport(ctx, prov.Address, secret, prov.InsecureSkipVerify)
	if err != nil {
		return server{}, fmt.Errorf("metric template %s: %w", key, err)
	}
	return server{address: prov.Address, transport: rt}, nil
}

// server returns where a query without credentials runs: the template's
// address (with its TLS setting), else the canary's spec.metricsServer,
// else the operator's default.
func (c *Checker) server(canary *flaggerv1.Canary, templateAddress string, insecure bool) (server, error) {
	secure, skipVerify := c.transports()
	if templateAddress != "" {
		if insecure {
			return server{address: templateAddress, transport: skipVerify}, nil
		}
		return server{address: templateAddress, transport: secure}, nil
	}
	for _, a := range []string{canary.Spec.MetricsServer, c.DefaultServer} {
		if a != "" {
			return server{address: a, transport: secure}, nil
		}
	}
	return server{}, errors.New("no metrics server: set spec.metricsServer or the operator's --metrics-server flag")
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
