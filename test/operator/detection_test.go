package operator

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// BenchmarkNewRevisionDetection measures how long the operator takes to
// notice a new revision of its target: from the patch of the target's pod
// template until the watch delivers the canary in phase Progressing with
// that revision as status.lastAppliedSpec. The canary's analysis interval
// is a minute, so a detection that waited for it would show.
//
// Every iteration starts from an idle canary (Initialized, then Failed)
// with its target scaled down and the operator's queue empty: a rollback
// webhook fails each release at its first analysis run. The timer only
// runs from the patch to the detection.
//
//	go test ./test/operator/ -run '^$' -bench BenchmarkNewRevisionDetection -benchtime 20x
func BenchmarkNewRevisionDetection(b *testing.B) {
	ns := framework.Get().Namespace(b)
	op := framework.Get().StartOperator(b, "--namespace="+ns)
	rollback := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	b.Cleanup(rollback.Close)
	canary := watchCanary(b, ns, "podinfo")
	framework.Get().CreateObjects(b, ns, framework.ReadObjects(b, "podinfo.yaml")...)
	framework.Get().CreateObjects(b, ns, withWebhook(b, framework.ReadObjects(b, "canary.yaml"), flaggerv1.RollbackHook, rollback.URL)...)
	canary.waitFor(b, 30*time.Second, "the canary to be Initialized", inPhase(flaggerv1.CanaryPhaseInitialized, ""))

	detections := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		waitIdle(b, ns, op)
		b.StartTimer()
		start := time.Now()
		hash := newRevision(b, ns, "podinfo", strconv.Itoa(i))
		detected := canary.waitFor(b, 30*time.Second, "revision "+strconv.Itoa(i)+" to be detected", inPhase(flaggerv1.CanaryPhaseProgressing, hash))
		b.StopTimer()
		detections = append(detections, detected.at.Sub(start))
		canary.waitFor(b, 60*time.Second, "revision "+strconv.Itoa(i)+" to be rolled back", inPhase(flaggerv1.CanaryPhaseFailed, hash))
	}
	reportLatencies(b, detections, "detect")
}

// withWebhook gives the canary among objs one webhook of type typ calling
// url. A rollback webhook answering with success rolls every release back
// at its first analysis run; a confirm-rollout one answering 403 holds
// every release.
func withWebhook(tb testing.TB, objs []*unstructured.Unstructured, typ flaggerv1.HookType, url string) []*unstructured.Unstructured {
	tb.Helper()
	for _, o := range objs {
		if o.GetKind() != "Canary" {
			continue
		}
		hook := map[string]any{"name": string(typ), "type": string(typ), "url": url}
		if err := unstructured.SetNestedSlice(o.Object, []any{hook}, "spec", "analysis", "webhooks"); err != nil {
			tb.Fatal(err)
		}
	}
	return objs
}

// waitIdle waits until the target has no pods left and the operator has
// nothing queued or in flight, so a detection does not share the operator
// with the previous release's clean-up.
func waitIdle(tb testing.TB, ns string, op *framework.Operator) {
	tb.Helper()
	framework.Eventually(tb, 60*time.Second, "the target's scale-down to finish", func(ctx context.Context) (bool, string) {
		d := &appsv1.Deployment{}
		if err := framework.Get().Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, d); err != nil {
			return false, err.Error()
		}
		s := d.Status
		terminating := s.TerminatingReplicas != nil && *s.TerminatingReplicas > 0
		return s.ObservedGeneration == d.Generation && s.Replicas == 0 && !terminating, fmt.Sprintf("status %+v", s)
	})
	framework.Eventually(tb, 30*time.Second, "the operator to settle", op.Settled)
}

// reportLatencies adds the mean, median, 90th percentile and maximum of
// latencies to the benchmark's results, in milliseconds per what.
func reportLatencies(b *testing.B, d []time.Duration, what string) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	ms := func(v time.Duration) float64 { return float64(v) / float64(time.Millisecond) }
	// nearest rank: the smallest sample with at least p of them at or below
	rank := func(p int) time.Duration { return d[(len(d)*p+99)/100-1] }
	b.ReportMetric(ms(sum/time.Duration(len(d))), "ms/"+what)
	b.ReportMetric(ms(rank(50)), "p50-ms/"+what)
	b.ReportMetric(ms(rank(90)), "p90-ms/"+what)
	b.ReportMetric(ms(d[len(d)-1]), "max-ms/"+what)
	b.Logf("%d samples (%s), sorted: %v", len(d), what, roundAll(d))
}

func roundAll(d []time.Duration) []time.Duration {
	out := make([]time.Duration, len(d))
	for i, v := range d {
		out[i] = v.Round(100 * time.Microsecond)
	}
	return out
}
