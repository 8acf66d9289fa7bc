package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/configdata"
	"github.com/serin-dev/serin/internal/egress"
)

// templateMetric is a metric of the template name in namespace ns.
func templateMetric(name, ns string) flaggerv1.CanaryMetric {
	return flaggerv1.CanaryMetric{Name: "errors", TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: name, Namespace: ns},
		ThresholdRange: &flaggerv1.CanaryThresholdRange{Max: ptr(5)}}
}

// tenantSecret is tenant-a's Prometheus token.
func tenantSecret() *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "prom-auth", Namespace: "tenant-a"},
		Data: map[string][]byte{"token": []byte("tenant-a-token")}}
}

func checkerWith(t *testing.T, objs ...client.Object) *Checker {
	cache := newReader(t, objs...)
	return &Checker{Reader: cache, Secrets: &configdata.Reader{Metadata: cache, API: cache}}
}

// A template's credentials are never sent to an address the template does
// not name: not to the canary's metrics server, not to the operator's
// default, whoever wrote the canary.
func TestCredentialsGoOnlyToTheTemplatesOwnAddress(t *testing.T) {
	canaryServer, canaryURL := newFakePrometheus(t, http.StatusOK, fmt.Sprintf(replyVector, "1"))
	defaultServer, defaultURL := newFakePrometheus(t, http.StatusOK, fmt.Sprintf(replyVector, "1"))
	tmpl := newTemplate("errors", "", "sum(errors)")
	tmpl.Namespace = "tenant-a"
	tmpl.Spec.Provider.SecretRef = &corev1.LocalObjectReference{Name: "prom-auth"}
	checker := checkerWith(t, tmpl, tenantSecret())
	checker.DefaultServer = defaultURL
	canary := newCanary("podinfo", withMetricsServer(canaryURL), withMetrics(templateMetric("errors", "tenant-a")))

	got := checker.Check(context.Background(), canary, "kubernetes")[0]

	want := "Halt podinfo.test advancement errors: metric template tenant-a/errors: provider.secretRef needs provider.address: credentials are only sent to the address written next to them"
	if got.Message != want || got.Passed {
		t.Errorf("result = %s, want the refusal %q", showResult(got), want)
	}
	if canaryServer.requests+defaultServer.requests != 0 {
		t.Errorf("servers not named by the template got %d and %d requests (Authorization %q, %q)",
			canaryServer.requests, defaultServer.requests, canaryServer.authz, defaultServer.authz)
	}
}

func TestCrossNamespaceTemplatesAreRefusedWhenTheOperatorSaysSo(t *testing.T) {
	prom, url := newFakePrometheus(t, http.StatusOK, fmt.Sprintf(replyVector, "1"))
	tmpl := newTemplate("errors", url, "sum(errors)")
	tmpl.Namespace = "tenant-a"
	tmpl.Spec.Provider.SecretRef = &corev1.LocalObjectReference{Name: "prom-auth"}
	checker := checkerWith(t, tmpl, tenantSecret())
	checker.NoCrossNamespaceRefs = true
	canary := newCanary("podinfo", withMetrics(templateMetric("errors", "tenant-a")))

	got := checker.Check(context.Background(), canary, "kubernetes")[0]

	want := "Halt podinfo.test advancement errors: metric template tenant-a/errors is in another namespace, which the operator refuses (--no-cross-namespace-refs)"
	if got.Message != want {
		t.Errorf("message %q, want %q", got.Message, want)
	}
	if prom.requests != 0 {
		t.Errorf("the template's server got %d requests", prom.requests)
	}
	// Without the flag the same template runs against its own server.
	checker = checkerWith(t, tmpl, tenantSecret())
	if got := checker.Check(context.Background(), canary, "kubernetes")[0]; !got.Passed || prom.authz[0] != "Bearer tenant-a-token" {
		t.Errorf("without the flag: %s, Authorization %q", showResult(got), prom.authz)
	}
}

// hostileServer answers every request with the handler's reply and counts
// requests.
func hostileServer(t *testing.T, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestHostileRepliesDoNotReachTheStatus(t *testing.T) {
	target, targetURL := newFakePrometheus(t, http.StatusOK, fmt.Sprintf(replyVector, "1"))
	cases := map[string]struct {
		reply   http.HandlerFunc // the metrics server
		want    string           // the halt message's end, after "query failed: "
		notWant string           // what must not reach the message
	}{
		"a huge Prometheus error is shortened": {
			reply: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"%s"}`, strings.Repeat("E", 3<<20))
			},
			want: "bad_data: " + strings.Repeat("E", egress.SummaryLength) + "…"},
		"a reply over 4 MiB is not read": {
			reply: func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"%s"}`, strings.Repeat("E", 5<<20))
			},
			want: "reply is larger than 4 MiB"},
		"an HTML page is not quoted": {
			reply: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("<html>internal admin console: password=hunter2</html>"))
			},
			want: "the reply is not a Prometheus API response", notWant: "hunter2"},
		"a JSON document of another service is not quoted": {
			reply: func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte(`[{"AccessKeyId":"AKIAEXAMPLE","SecretAccessKey":"wJalr"}]`))
			},
			want: "the reply is not a Prometheus API response", notWant: "AKIA"},
		"a plain error page shows only its status": {
			reply: func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "secret internal detail", http.StatusNotFound)
			},
			want: "client_error: client error: 404", notWant: "secret internal detail"},
		"a redirect is not followed": {
			reply: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, targetURL+r.URL.RequestURI(), http.StatusFound)
			},
			want: "the server replied 302: redirects are not followed"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			url := hostileServer(t, tc.reply)
			checker := &Checker{Reader: newReader(t)}
			canary := newCanary("podinfo", withMetricsServer(url), withMetrics(flaggerv1.CanaryMetric{Name: "q", Query: "vector(1)"}))

			got := checker.Check(context.Background(), canary, "kubernetes")[0]

			want := "Halt podinfo.test advancement q query failed: " + tc.want
			if got.Message != want {
				t.Errorf("message %.300q, want %.300q", got.Message, want)
			}
			if tc.notWant != "" && strings.Contains(got.Message, tc.notWant) {
				t.Errorf("message %q quotes %q", got.Message, tc.notWant)
			}
			if target.requests != 0 {
				t.Errorf("the redirect target got %d requests", target.requests)
			}
		})
	}
}

func TestQueriesToDeniedNetworksAreRefused(t *testing.T) {
	prom, url := newFakePrometheus(t, http.StatusOK, fmt.Sprintf(replyVector, "1"))
	deny, _ := egress.ParsePrefixes("127.0.0.0/8")
	checker := &Checker{Reader: newReader(t), Egress: egress.NewPolicy(deny, nil)}
	canary := newCanary("podinfo", withMetricsServer(url), withMetrics(flaggerv1.CanaryMetric{Name: "q", Query: "vector(1)"}))

	got := checker.Check(context.Background(), canary, "kubernetes")[0]

	want := "Halt podinfo.test advancement q query failed: refused by the operator's egress policy: the address is in a denied network"
	if got.Message != want {
		t.Errorf("message %q, want %q", got.Message, want)
	}
	if prom.requests != 0 {
		t.Errorf("the denied server got %d requests", prom.requests)
	}
}

func TestCredentialsAreNotSentToAnotherOrigin(t *testing.T) {
	var authz []string
	srv := hostileServer(t, func(w http.ResponseWriter, r *http.Request) { authz = append(authz, r.Header.Get("Authorization")) })
	auth := &authRoundTripper{next: http.DefaultTransport, scheme: "http", host: "prometheus.tenant-a:9090", token: "t"}
	req, _ := http.NewRequest(http.MethodGet, srv+"/api/v1/query", nil)
	if resp, err := auth.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Fatal("the token was sent to another origin")
	}
	if len(authz) != 0 {
		t.Errorf("the other origin got %d requests", len(authz))
	}
}
