package operator

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// A canary held at a closed confirm-rollout gate is reconciled every
// interval, and each reconcile reads its target, its primary and the
// ConfigMap and Secret the target uses. The target and primary come from
// the informer cache and the configs' data from the config memo (their
// metadata is watched, their data read from the API server only when it
// changes), so however long the canary waits, the operator makes no API
// request for it.
func TestACanaryWaitingAtAGateMakesNoAPIRequests(t *testing.T) {
	e := framework.Get()
	ns := e.Namespace(t)
	var gateCalls atomic.Int64
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		gateCalls.Add(1)
		w.WriteHeader(http.StatusForbidden)
	}))
	t.Cleanup(gate.Close)
	op := e.StartOperator(t, "--namespace="+ns)
	canary := watchCanary(t, ns, "podinfo")
	e.Apply(t, ns, "podinfo.yaml")
	objs := withWebhook(t, framework.ReadObjects(t, "canary.yaml"), flaggerv1.ConfirmRolloutHook, gate.URL)
	for _, o := range objs {
		if o.GetKind() != "Canary" {
			continue
		}
		framework.OnKubernetesProvider(t, o, 10)
		if err := unstructured.SetNestedField(o.Object, "1s", "spec", "analysis", "interval"); err != nil {
			t.Fatal(err)
		}
	}
	e.CreateObjects(t, ns, objs...)
	canary.waitFor(t, 30*time.Second, "the canary to be Initialized", inPhase(flaggerv1.CanaryPhaseInitialized, ""))
	newRevision(t, ns, "podinfo", "held")
	canary.waitFor(t, 30*time.Second, "the canary to wait at the gate", inPhase(flaggerv1.CanaryPhaseWaiting, ""))
	// The move to Waiting wrote a status and an event. The event is sent
	// in the background (client-go's recorder) and may follow the next
	// gate call, so the count starts one gate call after it is stored;
	// from then on nothing changes.
	framework.Eventually(t, 10*time.Second, "the waiting event to be stored", func(ctx context.Context) (bool, string) {
		var events corev1.EventList
		if err := e.Client.List(ctx, &events, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		for _, ev := range events.Items {
			if strings.Contains(ev.Message, "waiting for approval") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events, none waiting for approval", len(events.Items))
	})
	stored := gateCalls.Load()
	framework.Eventually(t, 10*time.Second, "one more gate call", func(context.Context) (bool, string) {
		return gateCalls.Load() > stored, fmt.Sprintf("%d calls", gateCalls.Load()-stored)
	})
	before, calls := apiRequests(t, op), gateCalls.Load()
	framework.Eventually(t, 30*time.Second, "five more reconciles at the gate", func(context.Context) (bool, string) {
		return gateCalls.Load() >= calls+5, fmt.Sprintf("%d calls", gateCalls.Load()-calls)
	})
	if after := apiRequests(t, op); after != before {
		t.Errorf("the operator made %v API requests during %d reconciles of a waiting canary, want 0", after-before, gateCalls.Load()-calls)
	}
}

// apiRequests is the number of requests the operator's Kubernetes clients
// have sent so far (client-go's rest_client_requests_total).
func apiRequests(t *testing.T, op *framework.Operator) float64 {
	t.Helper()
	n, err := op.Metric(context.Background(), "rest_client_requests_total", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the operator exposes no rest_client_requests_total")
	}
	return n
}
