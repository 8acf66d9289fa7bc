package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// onKubernetes makes the analysis canary a blue/green one on the
// kubernetes provider, which routes nothing itself.
func onKubernetes(t *testing.T) func(map[string]any) {
	return func(obj map[string]any) {
		canary := &unstructured.Unstructured{Object: obj}
		framework.OnKubernetesProvider(t, canary, 10)
		unstructured.RemoveNestedField(obj, "spec", "service", "gatewayRefs")
	}
}

// On the kubernetes provider the built-in metrics read the application's
// http_request_duration_seconds, as Flagger's HTTP observer does, and the
// duration's p99 is compared in milliseconds: a canary answering every
// request in 800 ms (all in the 0.5 s to 1 s bucket, a p99 of 995 ms,
// shown to 10 ms in the message) keeps its 100 % success rate but halts
// on request-duration > 500 ms until it is rolled back. Read in seconds,
// 0.995 would pass.
func TestBuiltInMetricsOnKubernetesReadTheApplicationsHistogramInMilliseconds(t *testing.T) {
	t.Parallel()
	r := newRelease(t, nil, onKubernetes(t))
	r.serve(framework.Traffic{RPS: 20, SuccessRatio: 1, Latency: 800 * time.Millisecond})
	r.deploy("stefanprodan/podinfo:3.0.2")
	c := waitForPhase(t, r.ns, "podinfo", flaggerv1.CanaryPhaseFailed, 120*time.Second)
	if c.Status.FailedChecks != 5 {
		t.Errorf("failedChecks %d, want 5", c.Status.FailedChecks)
	}
	// The step's log lines follow its status write: the last halt may be
	// logged just after the phase is seen Failed.
	halt := "Halt podinfo." + r.ns + " advancement request duration 990ms > 500ms"
	framework.Eventually(t, 10*time.Second, "five request-duration halts in the log", func(context.Context) (bool, string) {
		n := r.messages(halt)
		return n >= 5, fmt.Sprintf("%d halts", n)
	})
	if halts := r.messages(halt); halts != 5 {
		t.Errorf("%d request-duration halts, want 5:\n%s", halts, r.op.Log())
	}
	la := c.Status.LastAnalysis
	if la == nil || len(la.Checks) != 2 {
		t.Fatalf("status.lastAnalysis %+v, want both metrics' checks", la)
	}
	if rate, duration := la.Checks[0], la.Checks[1]; !rate.Passed || rate.Value != "100.00" || duration.Passed || duration.Value != "995.00" {
		t.Errorf("checks %+v, want the success rate passed at 100.00 and the duration failed at 995.00 (ms)", la.Checks)
	}
	r.assertNoErrors()
}
