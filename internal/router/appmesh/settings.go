package appmesh

import (
	"fmt"
	"slices"
	"strings"
	"time"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
)

// Route priorities of an A/B release: App Mesh tries lower values first,
// so header-matched requests are weighed before everyone else falls
// through to the primary.
const (
	headerRoutePriority  int64 = 10
	defaultRoutePriority int64 = 20
)

var (
	// initialWeights put all traffic on the primary; they are the weights
	// of a newly created router.
	initialWeights = router.Weights{Primary: 100}
	// finalWeights put all traffic on the canary side, whose pods the
	// target workload keeps serving once the primary is gone.
	finalWeights = router.Weights{Canary: 100}
)

// Route defaults and App Mesh limits.
const (
	// defaultMaxRetries, defaultPerTry and defaultRetryEvent make the retry
	// policy when service.retries is unset.
	defaultMaxRetries = 1
	defaultPerTry     = 250 * time.Millisecond
	defaultRetryEvent = "gateway-error"
	// defaultRoutePrefix matches every path.
	defaultRoutePrefix = "/"
	// maxHeadersPerRoute is App Mesh's limit on a route's header matches.
	maxHeadersPerRoute = 10
	// grpcPortNamePrefix marks a gRPC service port, as in Flagger.
	grpcPortNamePrefix  = "grpc"
	appMeshProtocolHTTP = "http"
	appMeshProtocolGRPC = "grpc"
)

// names are the object names of one canary, from the apex service name.
type names struct {
	apex, primary, canary, namespace string
}

func namesOf(c *flaggerv1.Canary) names {
	svc := c.GetServiceName()
	return names{apex: svc, primary: svc + "-primary", canary: svc + "-canary", namespace: c.Namespace}
}

// weightedRoute is the route carrying the split, the one GetRoutes reads.
func (n names) weightedRoute() string { return n.apex + "-route" }

// headerRoute names the i-th A/B route; the first is the weighted route so
// that moving between A/B and weighted releases keeps the split.
func (n names) headerRoute(i int) string {
	if i == 0 {
		return n.weightedRoute()
	}
	return fmt.Sprintf("%s-route-%d", n.apex, i+1)
}

// defaultRoute sends the requests no A/B route matched to the primary.
func (n names) defaultRoute() string { return n.apex + "-route-default" }

// canaryRoute is the only route of the canary router.
func (n names) canaryRoute() string { return n.canary + "-route" }

// routeSettings are the canary's route settings, before they take either
// App Mesh API's shape.
type routeSettings struct {
	// protocol of the listeners: http, or grpc for a port named grpc*.
	protocol string
	// prefix every route matches, unless an A/B entry has its own.
	prefix string
	// timeout of a request; zero leaves App Mesh's default.
	timeout time.Duration
	// retry is the retry policy of every route.
	retry retrySettings
	// retrySet says whether service.retries was set (v1beta1 routes carry
	// a retry policy only then, as in the seed's era).
	retrySet bool
	// matches are the A/B entries; none for weighted or blue/green.
	matches []requestMatch
}

// retrySettings is a retry policy; events are split by App Mesh's kinds.
type retrySettings struct {
	maxRetries      int64
	perTry          time.Duration
	http, tcp, grpc []string
}

// requestMatch is one A/B entry.
type requestMatch struct {
	// prefix of the path; the service's prefix when empty.
	prefix string
	// method to match; any when empty.
	method string
	// headers to match, sorted by name so generated routes are stable.
	headers []headerMatch
}

type headerMatch struct {
	name  string
	match flaggerv1.StringMatch
}

func newRouteSettings(c *flaggerv1.Canary) (routeSettings, error) {
	s := routeSettings{protocol: appMeshProtocolHTTP, prefix: defaultRoutePrefix}
	if strings.HasPrefix(c.GetPortName(), grpcPortNamePrefix) {
		s.protocol = appMeshProtocolGRPC
	}
	if m := c.Spec.Service.Match; len(m) > 0 && m[0].URI != nil && m[0].URI.Prefix != "" {
		s.prefix = m[0].URI.Prefix
	}
	if t := c.Spec.Service.Timeout; t != "" {
		d, err := parseDuration("spec.service.timeout", t)
		if err != nil {
			return s, err
		}
		s.timeout = d
	}
	var err error
	if s.retry, err = newRetrySettings(c.Spec.Service.Retries); err != nil {
		return s, err
	}
	s.retrySet = c.Spec.Service.Retries != nil
	s.matches, err = abMatches(c)
	return s, err
}

// newRetrySettings takes attempts literally when retries is set, so that
// attempts: 0 (or leaving it out) turns retries off.
func newRetrySettings(r *flaggerv1.HTTPRetry) (retrySettings, error) {
	s := retrySettings{maxRetries: defaultMaxRetries, perTry: defaultPerTry}
	if r == nil {
		return s, nil
	}
	s.maxRetries = int64(r.Attempts)
	if r.PerTryTimeout != "" {
		d, err := parseDuration("spec.service.retries.perTryTimeout", r.PerTryTimeout)
		if err != nil {
			return s, err
		}
		s.perTry = d
	}
	s.http, s.tcp, s.grpc = splitRetryOn(r.RetryOn)
	return s, nil
}

// retryEvents maps retryOn entries to App Mesh's event kinds. Besides App
// Mesh's own names it accepts the Envoy names Istio users write.
var retryEvents = map[string]struct{ kind, event string }{
	"server-error":       {"http", "server-error"},
	"5xx":                {"http", "server-error"},
	"gateway-error":      {"http", "gateway-error"},
	"client-error":       {"http", "client-error"},
	"retriable-4xx":      {"http", "client-error"},
	"stream-error":       {"http", "stream-error"},
	"refused-stream":     {"http", "stream-error"},
	"connection-error":   {"tcp", "connection-error"},
	"connect-failure":    {"tcp", "connection-error"},
	"cancelled":          {"grpc", "cancelled"},
	"deadline-exceeded":  {"grpc", "deadline-exceeded"},
	"internal":           {"grpc", "internal"},
	"resource-exhausted": {"grpc", "resource-exhausted"},
	"unavailable":        {"grpc", "unavailable"},
}

// splitRetryOn ignores entries App Mesh has no event for: the rest of the
// policy still applies.
func splitRetryOn(retryOn string) (http, tcp, grpc []string) {
	for _, e := range strings.Split(retryOn, ",") {
		m, ok := retryEvents[strings.TrimSpace(e)]
		if !ok {
			continue
		}
		switch m.kind {
		case "http":
			http = appendNew(http, m.event)
		case "tcp":
			tcp = appendNew(tcp, m.event)
		default:
			grpc = appendNew(grpc, m.event)
		}
	}
	return http, tcp, grpc
}

// httpEvents are the events of an HTTP route: App Mesh needs at least one,
// so gateway-error stands in when retryOn named only gRPC events or none.
func (r retrySettings) httpEvents() []string {
	if len(r.http)+len(r.tcp) == 0 {
		return []string{defaultRetryEvent}
	}
	return r.http
}

// grpcHTTPEvents are the HTTP events of a gRPC route, with the same
// stand-in as httpEvents.
func (r retrySettings) grpcHTTPEvents() []string {
	if len(r.http)+len(r.tcp)+len(r.grpc) == 0 {
		return []string{defaultRetryEvent}
	}
	return r.http
}

func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// abMatches converts analysis.match. App Mesh matches a path by prefix and
// a method exactly; other forms are reported rather than dropped, since a
// route matching more than the user asked would send them to the canary.
func abMatches(c *flaggerv1.Canary) ([]requestMatch, error) {
	a := c.GetAnalysis()
	if a == nil {
		return nil, nil
	}
	var out []requestMatch
	for i, m := range a.Match {
		field := fmt.Sprintf("analysis.match[%d]", i)
		var rm requestMatch
		if m.URI != nil {
			if m.URI.Prefix == "" {
				return nil, fmt.Errorf("%s.uri: App Mesh routes match a path by prefix only", field)
			}
			rm.prefix = m.URI.Prefix
		}
		if m.Method != nil {
			if m.Method.Exact == "" {
				return nil, fmt.Errorf("%s.method: App Mesh routes match a method exactly only", field)
			}
			rm.method = m.Method.Exact
		}
		if len(m.Headers) > maxHeadersPerRoute {
			return nil, fmt.Errorf("%s.headers: App Mesh routes match at most %d headers", field, maxHeadersPerRoute)
		}
		for _, name := range sortedKeys(m.Headers) {
			hm := m.Headers[name]
			if hm.Exact == "" && hm.Prefix == "" && hm.Suffix == "" && hm.Regex == "" {
				return nil, fmt.Errorf("%s.headers.%s sets none of exact, prefix, suffix or regex", field, name)
			}
			rm.headers = append(rm.headers, headerMatch{name: name, match: hm})
		}
		if rm.prefix == "" && rm.method == "" && len(rm.headers) == 0 {
			return nil, fmt.Errorf("%s has nothing App Mesh can match on: set headers, uri.prefix or method.exact", field)
		}
		out = append(out, rm)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func parseDuration(field, value string) (time.Duration, error) {
	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s %q is not a duration such as 15s or 500ms", field, value)
	}
	return d, nil
}

// abPrefix is the path prefix of an A/B route.
func (s routeSettings) abPrefix(m requestMatch) string {
	if m.prefix != "" {
		return m.prefix
	}
	return s.prefix
}
