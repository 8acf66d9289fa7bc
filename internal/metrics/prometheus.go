package metrics

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/types"

	"github.com/serin-dev/serin/internal/egress"
)

// queryTimeout bounds one Prometheus query.
const queryTimeout = 30 * time.Second

// replyLimit bounds a Prometheus reply. A check reads one sample; 4 MiB
// leaves room for a query that returns thousands of series and stops a
// server that streams without end from filling the operator's memory.
const replyLimit = 4 << 20

// logErrorLength bounds a failed query's error in the operator's log: the
// error can quote a reply.
const logErrorLength = 1024

// errNoValues says that a query returned no sample, or NaN.
var errNoValues = errors.New("no values found")

// server is a Prometheus server and how to reach it.
type server struct {
	address string
	// transport carries the server's credentials and TLS settings.
	transport http.RoundTripper
}

// transports returns the shared base transports, secure and insecure, so
// connections to the same Prometheus are reused across checks. Both obey
// the egress policy and cap replies.
func (c *Checker) transports() (secure, insecure http.RoundTripper) {
	c.once.Do(func() {
		base := c.Egress.Transport()
		c.secure = egress.CapReplies(base, replyLimit)
		skip := base.Clone()
		skip.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it with insecureSkipVerify
		c.insecure = egress.CapReplies(skip, replyLimit)
	})
	return c.secure, c.insecure
}

// authTransport returns the transport to the server at address with the
// credentials of secret: the keys username and password (basic auth) or
// token (bearer). insecure skips TLS certificate checks.
func (c *Checker) authTransport(ctx context.Context, address string, secret types.NamespacedName, insecure bool) (http.RoundTripper, error) {
	secure, skip := c.transports()
	auth := &authRoundTripper{next: secure, secret: secret}
	if insecure {
		auth.next = skip
	}
	u, err := url.Parse(address)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("provider.address %q is not an absolute URL", redacted(address))
	}
	auth.scheme, auth.host = u.Scheme, u.Host
	if c.Secrets == nil {
		return nil, fmt.Errorf("get secret %s: the operator reads no Secrets", secret)
	}
	s, err := c.Secrets.Secret(ctx, secret)
	if err != nil {
		return nil, fmt.Errorf("get secret %s: %w", secret, err)
	}
	switch user, pass, token := s.Data["username"], s.Data["password"], s.Data["token"]; {
	case len(user) > 0 && len(pass) > 0:
		auth.username, auth.password = string(user), string(pass)
	case len(token) > 0:
		auth.token = string(token)
	default:
		return nil, fmt.Errorf("secret %s has neither the keys username and password nor the key token", secret)
	}
	return auth, nil
}

// authRoundTripper adds basic auth or a bearer token to requests to one
// origin, and refuses requests to any other.
type authRoundTripper struct {
	next               http.RoundTripper
	secret             types.NamespacedName
	scheme, host       string
	username, password string
	token              string
}

// RoundTrip implements http.RoundTripper.
func (t *authRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != t.scheme || req.URL.Host != t.host {
		return nil, fmt.Errorf("credentials of secret %s are only sent to %s://%s", t.secret, t.scheme, t.host)
	}
	req = req.Clone(req.Context())
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	} else {
		req.SetBasicAuth(t.username, t.password)
	}
	return t.next.RoundTrip(req)
}

// query runs an instant PromQL query at time at and returns its first
// sample; errNoValues when there is none or it is NaN.
func query(ctx context.Context, s server, promql string, at time.Time) (float64, error) {
	value, err := queryValue(ctx, s, promql, at)
	if err != nil {
		return 0, err
	}
	return firstSample(value)
}

// queryValue runs an instant PromQL query at time at.
func queryValue(ctx context.Context, s server, promql string, at time.Time) (model.Value, error) {
	// Redirects are not followed: the reply to the address written is the
	// answer, and credentials never travel on to another server.
	hc := &http.Client{Transport: s.transport, CheckRedirect: egress.RefuseRedirects}
	client, err := promapi.NewClient(promapi.Config{Address: s.address, Client: hc})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %s: %w", redacted(s.address), err)
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	value, _, _, err := promv1.NewAPI(client).Query(ctx, promql, at)
	return value, err // the caller says which metric and server
}

// resultTypeError says that a query returned neither an instant vector
// nor a scalar.
type resultTypeError struct{ typ model.ValueType }

func (e *resultTypeError) Error() string {
	return fmt.Sprintf("query returned a %s; it must return an instant vector or a scalar", e.typ)
}

// shapeError says that a reply does not have the shape a comparison
// needs (one count, or buckets labelled le). Its text is the operator's,
// so it may reach the status.
type shapeError struct{ msg string }

func (e *shapeError) Error() string { return e.msg }

func shapeErrorf(format string, args ...any) error {
	return &shapeError{msg: fmt.Sprintf(format, args...)}
}

// firstSample returns the value of a scalar, or of the first sample of an
// instant vector.
func firstSample(value model.Value) (float64, error) {
	var v float64
	switch value := value.(type) {
	case model.Vector:
		if len(value) == 0 {
			return 0, errNoValues
		}
		v = float64(value[0].Value)
	case *model.Scalar:
		v = float64(value.Value)
	case nil:
		return 0, errNoValues
	default:
		return 0, &resultTypeError{typ: value.Type()}
	}
	if math.IsNaN(v) {
		return 0, errNoValues
	}
	return v, nil
}

// queryProblem describes a failed query for the canary's status. The reply
// came from an address a tenant may have written, so only Prometheus' own
// error text is quoted (shortened), never the body of a reply that is not
// a Prometheus API response.
func queryProblem(err error) string {
	var apiErr *promv1.Error
	var typeErr *resultTypeError
	var shapeErr *shapeError
	switch {
	case errors.As(err, &typeErr):
		return typeErr.Error()
	case errors.As(err, &shapeErr):
		return shapeErr.Error()
	case !errors.As(err, &apiErr):
		return egress.Describe(err, queryTimeout)
	}
	if apiErr.Type != promv1.ErrBadResponse {
		return fmt.Sprintf("%s: %s", apiErr.Type, egress.Sanitize(apiErr.Msg, egress.SummaryLength))
	}
	var code int
	if _, scanErr := fmt.Sscanf(apiErr.Msg, "bad response code %d", &code); scanErr == nil {
		if code >= 300 && code < 400 {
			return fmt.Sprintf("the server replied %d: redirects are not followed", code)
		}
		return fmt.Sprintf("the server replied %d", code)
	}
	return "the reply is not a Prometheus API response"
}

// redacted hides the password of an address with user information.
func redacted(address string) string {
	u, err := url.Parse(address)
	if err != nil {
		return "(unparsable address)"
	}
	return u.Redacted()
}
