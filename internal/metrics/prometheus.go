package metrics

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// queryTimeout bounds one Prometheus query.
const queryTimeout = 30 * time.Second

// errNoValues says that a query returned no sample, or NaN.
var errNoValues = errors.New("no values found")

// server is a Prometheus server and how to reach it.
type server struct {
	address string
	// transport carries the server's credentials and TLS settings.
	transport http.RoundTripper
}

// transports returns the shared base transports, secure and insecure, so
// connections to the same Prometheus are reused across checks.
func (c *Checker) transports() (secure, insecure http.RoundTripper) {
	c.once.Do(func() {
		base := http.DefaultTransport.(*http.Transport).Clone()
		c.secure = base
		skip := base.Clone()
		skip.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it with insecureSkipVerify
		c.insecure = skip
	})
	return c.secure, c.insecure
}

// roundTripper returns the transport to a server: insecure skips TLS
// certificate checks, and secret, when set, names a Secret with the keys
// username and password (basic auth) or token (bearer).
func (c *Checker) roundTripper(ctx context.Context, secret *types.NamespacedName, insecure bool) (http.RoundTripper, error) {
	secure, skip := c.transports()
	rt := secure
	if insecure {
		rt = skip
	}
	if secret == nil {
		return rt, nil
	}
	var s corev1.Secret
	if err := c.Reader.Get(ctx, *secret, &s); err != nil {
		return nil, fmt.Errorf("get secret %s: %w", secret, err)
	}
	auth := &authRoundTripper{next: rt}
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

// authRoundTripper adds basic auth or a bearer token to every request.
type authRoundTripper struct {
	next               http.RoundTripper
	username, password string
	token              string
}

// RoundTrip implements http.RoundTripper.
func (t *authRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
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
	client, err := promapi.NewClient(promapi.Config{Address: s.address, RoundTripper: s.transport})
	if err != nil {
		return 0, fmt.Errorf("prometheus client for %s: %w", s.address, err)
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	value, _, _, err := promv1.NewAPI(client).Query(ctx, promql, at)
	if err != nil {
		return 0, err // the caller says which metric and server
	}
	return firstSample(value)
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
		return 0, fmt.Errorf("query returned a %s; it must return an instant vector or a scalar", value.Type())
	}
	if math.IsNaN(v) {
		return 0, errNoValues
	}
	return v, nil
}
