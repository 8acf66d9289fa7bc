package operator

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// fleetInterval is the analysis interval of the fleet's canaries.
const fleetInterval = 2 * time.Second

// One canary whose five webhooks never answer cannot delay the others: of
// 20 canaries released at once, the other 19 run an analysis at every
// interval (never two intervals apart) and are promoted. The hanging
// canary itself is not stuck either: its step ends at --step-timeout, the
// unanswered checks fail, and it is rolled back.
func TestACanaryWithHangingWebhooksDelaysNoOther(t *testing.T) {
	e := framework.Get()
	ns := e.Namespace(t)
	hang := framework.HangingServer(t)
	e.StartOperator(t, "--namespace="+ns, "--step-timeout=5s")
	runs := recordAnalysisRuns(t, ns)
	const fleet = 20
	for i := range fleet {
		var hooks []flaggerv1.CanaryWebhook
		if i == 0 {
			for _, typ := range []flaggerv1.HookType{flaggerv1.RollbackHook, flaggerv1.PreRolloutHook, flaggerv1.RolloutHook, flaggerv1.RolloutHook, flaggerv1.EventHook} {
				hooks = append(hooks, flaggerv1.CanaryWebhook{Name: fmt.Sprintf("hang-%s-%d", typ, len(hooks)), Type: typ, URL: hang, Timeout: "5m"})
			}
		}
		createFleetMember(t, ns, fmt.Sprintf("podinfo-%d", i), hooks)
	}
	for i := range fleet {
		waitForFleetPhase(t, ns, fmt.Sprintf("podinfo-%d", i), flaggerv1.CanaryPhaseInitialized, 90*time.Second)
	}
	for i := range fleet {
		newRevision(t, ns, fmt.Sprintf("podinfo-%d", i), "2")
	}
	waitForFleetPhase(t, ns, "podinfo-0", flaggerv1.CanaryPhaseFailed, 60*time.Second)
	for i := 1; i < fleet; i++ {
		waitForFleetPhase(t, ns, fmt.Sprintf("podinfo-%d", i), flaggerv1.CanaryPhaseSucceeded, 90*time.Second)
	}
	worst := time.Duration(0)
	for i := 1; i < fleet; i++ {
		name := fmt.Sprintf("podinfo-%d", i)
		times := runs.of(name)
		if len(times) < 5 {
			t.Errorf("%s: %d analysis runs, want at least 5 (one per step to 50%%)", name, len(times))
			continue
		}
		for j := 1; j < len(times); j++ {
			gap := times[j].Sub(times[j-1])
			worst = max(worst, gap)
			if gap > 2*fleetInterval {
				t.Errorf("%s: %s between analysis runs %d and %d, want at most two intervals (%s)", name, gap, j, j+1, 2*fleetInterval)
			}
		}
	}
	t.Logf("largest gap between two analysis runs of the 19 others: %s (interval %s)", worst, fleetInterval)
	c := &flaggerv1.Canary{}
	framework.MustGet(t, ns, "podinfo-0", c)
	if la := c.Status.LastAnalysis; la == nil || !strings.Contains(la.Decision, "Rolling back") {
		t.Errorf("the hanging canary's last analysis %+v, want a rollback", la)
	}
}

// createFleetMember creates a one-replica Deployment and its Canary
// (kubernetes provider, blue/green for 5 iterations, a 2s interval).
func createFleetMember(t *testing.T, ns, name string, hooks []flaggerv1.CanaryWebhook) {
	t.Helper()
	one := int32(1)
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "podinfo", Image: "stefanprodan/podinfo:3.1.0"}}},
			},
		},
	}
	c := &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: flaggerv1.CanarySpec{
			Provider:  "kubernetes",
			TargetRef: flaggerv1.TargetReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			Service:   flaggerv1.CanaryService{Port: 9898},
			Analysis: &flaggerv1.CanaryAnalysis{Interval: fleetInterval.String(), Iterations: 5, Threshold: 1,
				Webhooks: hooks},
		},
	}
	for _, o := range []client.Object{d, c} {
		if err := framework.Get().Client.Create(context.Background(), o); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
}

func waitForFleetPhase(t *testing.T, ns, name string, phase flaggerv1.CanaryPhase, timeout time.Duration) {
	t.Helper()
	framework.Eventually(t, timeout, fmt.Sprintf("%s to be %s", name, phase), func(ctx context.Context) (bool, string) {
		c := &flaggerv1.Canary{}
		if err := framework.Get().Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, c); err != nil {
			return false, err.Error()
		}
		return c.Status.Phase == phase, describe(c)
	})
}

// analysisRuns records the distinct status.lastAnalysis times of every
// canary of a namespace while it progresses.
type analysisRuns struct {
	mu   sync.Mutex
	runs map[string][]time.Time
}

func recordAnalysisRuns(t *testing.T, ns string) *analysisRuns {
	a := &analysisRuns{runs: map[string][]time.Time{}}
	framework.Get().Watch(t, &flaggerv1.CanaryList{}, func(_ context.Context, ev watch.Event) {
		c, ok := ev.Object.(*flaggerv1.Canary)
		if !ok || c.Status.LastAnalysis == nil || c.Status.Phase != flaggerv1.CanaryPhaseProgressing {
			return
		}
		at := c.Status.LastAnalysis.Time.Time
		a.mu.Lock()
		defer a.mu.Unlock()
		if seen := a.runs[c.Name]; len(seen) == 0 || !seen[len(seen)-1].Equal(at) {
			a.runs[c.Name] = append(seen, at)
		}
	}, client.InNamespace(ns))
	return a
}

func (a *analysisRuns) of(name string) []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := append([]time.Time(nil), a.runs[name]...)
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}
