package steer

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// prepareRelease starts the operator on the fixture in ns, initialized,
// with healthy metrics; deployNewRevision then starts a release that
// advances 10, 20 … 50 every 2s.
func prepareRelease(t *testing.T, ns string) *framework.Operator {
	t.Helper()
	e := framework.Get()
	op := e.StartOperator(t, operatorFlags(ns)...)
	e.Apply(t, ns, "podinfo.yaml")
	obj := framework.ReadObjects(t, "canary-release.yaml")[0]
	obj.SetNamespace(ns)
	e.CreateObjects(t, ns, obj)
	framework.Eventually(t, 60*time.Second, "the canary to be initialized", func(ctx context.Context) (bool, string) {
		c := &flaggerv1.Canary{}
		if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, c); err != nil {
			return false, err.Error()
		}
		return c.Status.Phase == flaggerv1.CanaryPhaseInitialized, "phase " + string(c.Status.Phase)
	})
	e.Exporter.SetTraffic(ns, "podinfo-primary-6c7d9-abcde", healthy)
	serveCanary(t, ns, healthy)
	return op
}

// operatorFlags run the operator on ns with the package's Prometheus.
func operatorFlags(ns string) []string {
	return []string{"--namespace=" + ns, "--metrics-server=" + framework.Get().Prometheus.URL}
}

var healthy = framework.Traffic{RPS: 20, SuccessRatio: 1, Latency: 20 * time.Millisecond}

// serveCanary sets what the canary's pods answer and waits until
// Prometheus has a rate of it.
// canaryPod is the pod the canary's traffic is credited to: the built-in
// queries match the canary's pods by this name pattern.
const canaryPod = "podinfo-7f8b5-x2x4z"

// waitForCleanMetricWindow waits until the canary's errors have left the
// metrics' 10s range, so that an analysis started now sees only the
// traffic served since.
func waitForCleanMetricWindow(t *testing.T, ns string) {
	t.Helper()
	e := framework.Get()
	// The canary is on gatewayapi:v1: its built-in metrics read the
	// application's histogram.
	q := fmt.Sprintf(`(sum(rate(http_request_duration_seconds_count{kubernetes_namespace=%q,kubernetes_pod_name=%q,status=~"5.*"}[10s])) or vector(0)) == 0`, ns, canaryPod)
	framework.Eventually(t, 60*time.Second, "the canary's errors to leave the metrics' range", func(ctx context.Context) (bool, string) {
		return e.Prometheus.HasResult(ctx, q)
	})
}

func serveCanary(t *testing.T, ns string, tr framework.Traffic) {
	t.Helper()
	e := framework.Get()
	e.Exporter.SetTraffic(ns, canaryPod, tr)
	q := fmt.Sprintf(`rate(http_request_duration_seconds_count{kubernetes_namespace=%q,kubernetes_pod_name=%q}[10s]) > 0`, ns, canaryPod)
	framework.Eventually(t, 30*time.Second, "Prometheus to have the canary's traffic", func(ctx context.Context) (bool, string) {
		return e.Prometheus.HasResult(ctx, q)
	})
}

func deployNewRevision(t *testing.T, ns string) {
	t.Helper()
	d := &appsv1.Deployment{}
	framework.MustGet(t, ns, "podinfo", d)
	patch := client.MergeFrom(d.DeepCopy())
	d.Spec.Template.Spec.Containers[0].Image = "stefanprodan/podinfo:3.1.1"
	if err := framework.Get().Client.Patch(context.Background(), d, patch); err != nil {
		t.Fatal(err)
	}
}

// waitForCanary waits until cond holds for the canary podinfo in ns and
// returns it.
func waitForCanary(t *testing.T, ns, what string, timeout time.Duration, cond func(c *flaggerv1.Canary) (bool, string)) *flaggerv1.Canary {
	t.Helper()
	c := &flaggerv1.Canary{}
	framework.Eventually(t, timeout, what, func(ctx context.Context) (bool, string) {
		if err := framework.Get().Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, c); err != nil {
			return false, err.Error()
		}
		return cond(c)
	})
	return c
}

func inPhase(p flaggerv1.CanaryPhase) func(c *flaggerv1.Canary) (bool, string) {
	return func(c *flaggerv1.Canary) (bool, string) {
		return c.Status.Phase == p, fmt.Sprintf("phase %s at weight %d", c.Status.Phase, c.Status.CanaryWeight)
	}
}
