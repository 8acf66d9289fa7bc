package metrics

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

var headerName = regexp.MustCompile(flaggerv1.HeaderNamePattern)

// checkHeaders refuses provider.headers the CRD refuses, for templates
// stored before its rules: the headers go only to the template's own
// address, never replace the Secret's credentials, and never set what the
// HTTP client manages.
func checkHeaders(p flaggerv1.MetricTemplateProvider) error {
	if len(p.Headers) == 0 {
		return nil
	}
	if p.Address == "" {
		return fmt.Errorf("provider.headers needs provider.address: the headers are only sent to the address written next to them")
	}
	for name := range p.Headers {
		switch {
		case !headerName.MatchString(name):
			return fmt.Errorf("provider.headers name %q must be 1 to 128 letters, digits, '-', '_' and '.'", name)
		case slices.ContainsFunc(flaggerv1.ReservedHeaders, func(r string) bool { return strings.EqualFold(r, name) }):
			return fmt.Errorf("provider.headers must not set %s: the HTTP client sets it", name)
		case p.SecretRef != nil && strings.EqualFold(name, "Authorization"):
			return fmt.Errorf("provider.headers must not set Authorization with provider.secretRef: the Secret's credentials are the Authorization header")
		}
	}
	return nil
}

// headerRoundTripper adds a template's provider.headers to every query.
// It wraps the credentials' transport, which sets Authorization after it,
// and only ever reaches the template's address: redirects are not
// followed.
type headerRoundTripper struct {
	next   http.RoundTripper
	header http.Header
}

func withHeaders(next http.RoundTripper, headers map[string]flaggerv1.HeaderValues) http.RoundTripper {
	h := make(http.Header, len(headers))
	for name, values := range headers {
		for _, v := range values {
			h.Add(name, string(v))
		}
	}
	return &headerRoundTripper{next: next, header: h}
}

// RoundTrip implements http.RoundTripper.
func (t *headerRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for name, values := range t.header {
		req.Header[name] = slices.Clone(values)
	}
	return t.next.RoundTrip(req)
}
