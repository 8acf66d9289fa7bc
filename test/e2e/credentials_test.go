package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// promRecorder is a Prometheus stand-in that answers every query with the
// value 1 and records the Authorization header of each request.
type promRecorder struct {
	*httptest.Server
	mu    sync.Mutex
	authz []string
}

func newPromRecorder(t *testing.T) *promRecorder {
	p := &promRecorder{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.authz = append(p.authz, r.Header.Get("Authorization"))
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"1"]}]}}`)
	}))
	t.Cleanup(p.Close)
	return p
}

// requests returns the Authorization headers received so far.
func (p *promRecorder) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.authz...)
}

const tenantToken = "tenant-a-prometheus-token"

// Tenant B's Canary names tenant A's MetricTemplate, whose Secret holds A's
// Prometheus token, and points spec.metricsServer at a server B runs. The
// template used to be able to leave provider.address empty, and then the
// operator sent A's token to B's server. Now the API server refuses such a
// template; a template with its own address gets the token at that address
// only; and an operator started with --no-cross-namespace-refs refuses B's
// canary with a condition and calls nobody.
//
// Not parallel: the operator watches every namespace, as a cluster-wide
// install does, and must not meet the other tests' canaries.
func TestAnotherNamespacesTokenNeverReachesACanarysServer(t *testing.T) {
	e := framework.Get()
	ctx := context.Background()
	tenantA, tenantB := e.Namespace(t), e.Namespace(t)
	promA, promB := newPromRecorder(t), newPromRecorder(t)

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tenantA, Name: "prom-auth"},
		StringData: map[string]string{"token": tenantToken}}
	if err := e.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	tmpl := &flaggerv1.MetricTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: tenantA, Name: "errors"},
		Spec: flaggerv1.MetricTemplateSpec{
			Provider: flaggerv1.MetricTemplateProvider{Type: "prometheus", SecretRef: &corev1.LocalObjectReference{Name: "prom-auth"}},
			Query:    `sum(rate(http_requests_total{namespace="{{ namespace }}",status=~"5.."}[{{ interval }}]))`,
		},
	}
	err := e.Client.Create(ctx, tmpl.DeepCopy())
	if err == nil || !strings.Contains(err.Error(), "provider.address is required with provider.secretRef") {
		t.Fatalf("a template with credentials and no address: %v, want the API server's refusal", err)
	}
	tmpl.Spec.Provider.Address = promA.URL
	if err := e.Client.Create(ctx, tmpl); err != nil {
		t.Fatal(err)
	}

	op := e.StartOperator(t)
	e.Apply(t, tenantB, "podinfo.yaml")
	e.CreateObjects(t, tenantB, tenantBCanary(t, tenantA, promB.URL))
	waitForPhase(t, tenantB, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)
	deployImage(t, tenantB, "stefanprodan/podinfo:3.1.1")
	framework.Eventually(t, 60*time.Second, "the template's query at its own address", func(context.Context) (bool, string) {
		got := promA.requests()
		return len(got) > 0, fmt.Sprintf("%d queries", len(got))
	})
	for _, h := range promA.requests() {
		if h != "Bearer "+tenantToken {
			t.Errorf("the template's own server got Authorization %q, want its token", h)
		}
	}
	if got := promB.requests(); len(got) != 0 {
		t.Fatalf("tenant B's server got %d requests (Authorization %q): the template ran against it", len(got), got)
	}

	// With --no-cross-namespace-refs the canary is refused outright.
	op.Kill()
	queried := len(promA.requests())
	e.StartOperator(t, "--no-cross-namespace-refs")
	want := fmt.Sprintf("The operator refuses references to other namespaces (--no-cross-namespace-refs): spec.analysis.metrics[0].templateRef.namespace %s; use a MetricTemplate or AlertProvider in namespace %s", tenantA, tenantB)
	framework.Eventually(t, 30*time.Second, "the refusal on the canary", func(ctx context.Context) (bool, string) {
		c := &flaggerv1.Canary{}
		if err := e.Client.Get(ctx, client.ObjectKey{Namespace: tenantB, Name: "podinfo"}, c); err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.ReadyCondition)
		return cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == "CrossNamespaceRefsRefused" && cond.Message == want,
			fmt.Sprintf("conditions %+v", c.Status.Conditions)
	})
	assertWarning(t, tenantB, "CrossNamespaceRefsRefused", want)
	// The refusal repeats with backoff; by the time it has been reported
	// again, an analysis would have run.
	framework.Eventually(t, 30*time.Second, "the refusal to be reported again", func(ctx context.Context) (bool, string) {
		n := warningCount(ctx, tenantB, "CrossNamespaceRefsRefused")
		return n >= 2, fmt.Sprintf("reported %d times", n)
	})
	if got := promA.requests(); len(got) != queried {
		t.Errorf("the refused canary's template was queried %d more times", len(got)-queried)
	}
	if got := promB.requests(); len(got) != 0 {
		t.Errorf("tenant B's server got %d requests", len(got))
	}
}

// tenantBCanary is canary-analysis.yaml on the kubernetes provider (blue/green), with
// B's metrics server and one metric from tenant A's template.
func tenantBCanary(t *testing.T, tenantA, metricsServer string) *unstructured.Unstructured {
	t.Helper()
	u := framework.ReadObjects(t, "canary-analysis.yaml")[0]
	unstructured.RemoveNestedField(u.Object, "spec", "service", "gatewayRefs")
	metric := map[string]any{"name": "errors", "interval": "1m", "thresholdRange": map[string]any{"max": int64(5)},
		"templateRef": map[string]any{"name": "errors", "namespace": tenantA}}
	framework.OnKubernetesProvider(t, u, 10)
	for _, err := range []error{
		unstructured.SetNestedField(u.Object, metricsServer, "spec", "metricsServer"),
		unstructured.SetNestedSlice(u.Object, []any{metric}, "spec", "analysis", "metrics"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// warningCount is how often Warning events of reason were recorded in ns.
func warningCount(ctx context.Context, ns, reason string) int {
	var events corev1.EventList
	if err := framework.Get().Client.List(ctx, &events, client.InNamespace(ns)); err != nil {
		return 0
	}
	n := 0
	for _, ev := range events.Items {
		if ev.Type == corev1.EventTypeWarning && ev.Reason == reason {
			n += int(max(ev.Count, 1))
		}
	}
	return n
}
