package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/configdata"
)

// headerPrometheus is a Prometheus that records the request headers of
// every query.
type headerPrometheus struct {
	mu      sync.Mutex
	headers []http.Header
}

func (p *headerPrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.headers = append(p.headers, r.Header.Clone())
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, replyVector, "1")
}

func (p *headerPrometheus) received() []http.Header {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.headers
}

// provider.headers are sent with every query of the template, next to
// the Secret's credentials; headers the CRD would refuse, in a template
// stored before its rules, fail the check with the field's name and are
// never sent.
func TestTemplateHeadersAreSentWithEveryQuery(t *testing.T) {
	cases := map[string]struct {
		headers     map[string]flaggerv1.HeaderValues // provider.headers
		secret      bool                              // the template names a Secret with a token
		noAddress   bool                              // the template has no address (the canary's server applies)
		wantHeaders map[string][]string               // headers Prometheus gets; nil when no query is expected
		wantMessage string                            // a part of the failure message
	}{
		"a tenant header": {
			headers:     map[string]flaggerv1.HeaderValues{"X-Scope-OrgID": {"team-a"}},
			wantHeaders: map[string][]string{"X-Scope-Orgid": {"team-a"}},
		},
		"several values, next to the Secret's token": {
			headers: map[string]flaggerv1.HeaderValues{"X-Scope-OrgID": {"team-a", "team-b"}, "X-Trace": {"1"}},
			secret:  true,
			wantHeaders: map[string][]string{"X-Scope-Orgid": {"team-a", "team-b"}, "X-Trace": {"1"},
				"Authorization": {"Bearer abc.def"}},
		},
		"Authorization without a Secret": {
			headers:     map[string]flaggerv1.HeaderValues{"Authorization": {"Bearer written-in-the-template"}},
			wantHeaders: map[string][]string{"Authorization": {"Bearer written-in-the-template"}},
		},
		"Authorization next to a Secret is refused": {
			headers:     map[string]flaggerv1.HeaderValues{"authorization": {"Bearer other"}},
			secret:      true,
			wantMessage: "provider.headers must not set Authorization with provider.secretRef",
		},
		"a header the client sets is refused": {
			headers:     map[string]flaggerv1.HeaderValues{"host": {"other.example"}},
			wantMessage: "provider.headers must not set host",
		},
		"a name that is no header name is refused": {
			headers:     map[string]flaggerv1.HeaderValues{"X Scope": {"a"}},
			wantMessage: `provider.headers name "X Scope" must be`,
		},
		"headers without an address are refused": {
			headers:     map[string]flaggerv1.HeaderValues{"X-Scope-OrgID": {"team-a"}},
			noAddress:   true,
			wantMessage: "provider.headers needs provider.address",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			prom := &headerPrometheus{}
			srv := httptest.NewServer(prom)
			t.Cleanup(srv.Close)
			address := srv.URL
			if tc.noAddress {
				address = ""
			}
			tmpl := newTemplate("errors", address, "sum(errors)")
			tmpl.Spec.Provider.Headers = tc.headers
			objs := []client.Object{tmpl}
			if tc.secret {
				tmpl.Spec.Provider.SecretRef = &corev1.LocalObjectReference{Name: "prom-auth"}
				objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "prom-auth", Namespace: "test"},
					Data: map[string][]byte{"token": []byte("abc.def")}})
			}
			cache := newReader(t, objs...)
			checker := &Checker{Reader: cache, Secrets: &configdata.Reader{Metadata: cache, API: cache}}
			canary := newCanary("podinfo", withMetricsServer(srv.URL), withMetrics(flaggerv1.CanaryMetric{
				Name: "errors", TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "errors"}}))

			got := checker.Check(context.Background(), canary, "appmesh")[0]

			received := prom.received()
			if tc.wantHeaders == nil {
				if got.Err == nil || !strings.Contains(got.Message, tc.wantMessage) || len(received) > 0 {
					t.Errorf("result = %s after %d queries; want no query and a message containing %q", showResult(got), len(received), tc.wantMessage)
				}
				return
			}
			if !got.Passed || len(received) != 1 {
				t.Fatalf("result = %s after %d queries; want one query, passed", showResult(got), len(received))
			}
			for name, want := range tc.wantHeaders {
				if got := received[0].Values(name); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("header %s = %q, want %q", name, got, want)
				}
			}
		})
	}
}
