package steer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/levers"
	"github.com/serin-dev/serin/test/framework"
)

// leverRelease is a release in ns steered by a user with patch rights
// through kubectl serin.
type leverRelease struct {
	t          *testing.T
	ns         string
	op         *framework.Operator
	steerer    user
	kubeconfig string
}

func newLeverRelease(t *testing.T) *leverRelease {
	e := framework.Get()
	ns := e.Namespace(t)
	steerer := newUser(t, ns, "steerer", steerCanaries, ns)
	return &leverRelease{t: t, ns: ns, op: prepareRelease(t, ns), steerer: steerer, kubeconfig: writeKubeconfig(t, steerer.token, ns)}
}

// pullWhileDown kills the operator, pulls the lever with kubectl serin
// while no operator runs, and starts a new operator, which must act on
// the request it finds.
func (r *leverRelease) pullWhileDown(lever string) {
	r.t.Helper()
	r.op.Kill()
	out, err := kubectlSerin(r.t, r.kubeconfig, lever, "podinfo", "--no-wait")
	if err != nil {
		r.t.Fatalf("kubectl serin %s: %v\n%s", lever, err, out)
	}
	r.op = framework.Get().StartOperator(r.t, operatorFlags(r.ns)...)
}

// acknowledged waits until status.levers records the request on the
// canary's annotation as applied, by kubectl-serin:<steerer>.
func (r *leverRelease) acknowledged(l levers.Lever) *flaggerv1.LeverRecord {
	r.t.Helper()
	var rec *flaggerv1.LeverRecord
	waitForCanary(r.t, r.ns, string(l)+" to be acknowledged", 60*time.Second, func(c *flaggerv1.Canary) (bool, string) {
		rec = levers.Handled(c.Status.Levers, l)
		return rec != nil && rec.ID == c.Annotations[l.Annotation()], fmt.Sprintf("status.levers %+v, annotations %v", c.Status.Levers, c.Annotations)
	})
	if want := "kubectl-serin:" + r.steerer.name; !rec.Applied || rec.RequestedBy != want {
		r.t.Errorf("status.levers.%s = %+v, want applied, requested by %s", l, rec, want)
	}
	return rec
}

// assertEvent checks that an event of the canary says msg.
func (r *leverRelease) assertEvent(msg string) {
	r.t.Helper()
	framework.Eventually(r.t, 30*time.Second, "the event "+msg, func(ctx context.Context) (bool, string) {
		var evs corev1.EventList
		if err := framework.Get().Client.List(ctx, &evs, client.InNamespace(r.ns)); err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range evs.Items {
			if strings.HasPrefix(e.Message, msg) {
				return true, ""
			}
			seen = append(seen, e.Message)
		}
		return false, fmt.Sprintf("events %q", seen)
	})
}

func atLeastWeight(w int) func(c *flaggerv1.Canary) (bool, string) {
	return func(c *flaggerv1.Canary) (bool, string) {
		return c.Status.Phase == flaggerv1.CanaryPhaseProgressing && c.Status.CanaryWeight >= w,
			fmt.Sprintf("phase %s at weight %d", c.Status.Phase, c.Status.CanaryWeight)
	}
}

// routes reads the HTTPRoute's primary/canary weights.
func routes(t *testing.T, ns string) string {
	t.Helper()
	route := &gatewayv1.HTTPRoute{}
	framework.MustGet(t, ns, "podinfo", route)
	refs := route.Spec.Rules[0].BackendRefs
	return fmt.Sprintf("%d/%d", *refs[0].Weight, *refs[1].Weight)
}

// promote mid-analysis, asked while the operator is down, goes through
// the promotion path: the primary takes the new template, the remaining
// steps are skipped, the release ends Succeeded.
func TestLeverPromoteMidAnalysisSucceedsThroughThePromotionPath(t *testing.T) {
	t.Parallel()
	r := newLeverRelease(t)
	deployNewRevision(t, r.ns)
	waitForCanary(t, r.ns, "the release to reach weight 10", 60*time.Second, atLeastWeight(10))
	r.pullWhileDown("promote")
	r.acknowledged(levers.Promote)
	c := waitForCanary(t, r.ns, "the release to succeed", 60*time.Second, inPhase(flaggerv1.CanaryPhaseSucceeded))
	r.assertEvent("Promotion of podinfo." + r.ns + " requested by kubectl-serin:" + r.steerer.name)
	primary := &appsv1.Deployment{}
	framework.MustGet(t, r.ns, "podinfo-primary", primary)
	if img := primary.Spec.Template.Spec.Containers[0].Image; img != "stefanprodan/podinfo:3.1.1" {
		t.Errorf("the primary runs %s, want the promoted stefanprodan/podinfo:3.1.1", img)
	}
	phases := map[flaggerv1.CanaryPhase]bool{}
	for _, h := range c.Status.History {
		phases[h.Phase] = true
		if h.CanaryWeight >= 50 {
			t.Errorf("the release reached weight %d: promote did not skip the remaining steps", h.CanaryWeight)
		}
	}
	if !phases[flaggerv1.CanaryPhasePromoting] || !phases[flaggerv1.CanaryPhaseFinalising] {
		t.Errorf("history phases %v, want the promotion path (Promoting, Finalising)", phases)
	}
	if got := routes(t, r.ns); got != "100/0" {
		t.Errorf("routes %s after the promotion, want 100/0", got)
	}
}

// abort, asked while the operator is down, rolls the release back: all
// traffic on the primary, the canary scaled down, the release Failed.
func TestLeverAbortRollsTheReleaseBack(t *testing.T) {
	t.Parallel()
	r := newLeverRelease(t)
	deployNewRevision(t, r.ns)
	waitForCanary(t, r.ns, "the release to reach weight 10", 60*time.Second, atLeastWeight(10))
	r.pullWhileDown("abort")
	r.acknowledged(levers.Abort)
	waitForCanary(t, r.ns, "the release to fail", 60*time.Second, inPhase(flaggerv1.CanaryPhaseFailed))
	r.assertEvent("Rolling back podinfo." + r.ns + " abort requested by kubectl-serin:" + r.steerer.name)
	if got := routes(t, r.ns); got != "100/0" {
		t.Errorf("routes %s after the abort, want 100/0", got)
	}
	primary, target := &appsv1.Deployment{}, &appsv1.Deployment{}
	framework.MustGet(t, r.ns, "podinfo-primary", primary)
	if img := primary.Spec.Template.Spec.Containers[0].Image; img != "stefanprodan/podinfo:3.1.0" {
		t.Errorf("the primary runs %s after the abort, want stefanprodan/podinfo:3.1.0", img)
	}
	framework.Eventually(t, 30*time.Second, "the canary to scale down", func(ctx context.Context) (bool, string) {
		framework.MustGet(t, r.ns, "podinfo", target)
		return *target.Spec.Replicas == 0, fmt.Sprintf("%d replicas", *target.Spec.Replicas)
	})
}

// retry, asked while the operator is down, runs the analysis of a failed
// revision again with the same pod template, which now passes.
func TestLeverRetryRerunsAFailedRevisionWithTheSameTemplate(t *testing.T) {
	t.Parallel()
	r := newLeverRelease(t)
	serveCanary(t, r.ns, framework.Traffic{RPS: 20, SuccessRatio: 0.6, Latency: 20 * time.Millisecond})
	deployNewRevision(t, r.ns)
	failed := waitForCanary(t, r.ns, "the release to fail", 90*time.Second, inPhase(flaggerv1.CanaryPhaseFailed))
	revision := failed.Status.LastAppliedSpec
	serveCanary(t, r.ns, healthy)
	// A retry is asked once the cause is fixed: here, once the failing
	// traffic has left the range the metrics are computed over.
	waitForCleanMetricWindow(t, r.ns)
	r.pullWhileDown("retry")
	r.acknowledged(levers.Retry)
	r.assertEvent("Retry of podinfo." + r.ns + " requested by kubectl-serin:" + r.steerer.name)
	c := waitForCanary(t, r.ns, "the retried release to succeed", 90*time.Second, inPhase(flaggerv1.CanaryPhaseSucceeded))
	if c.Status.LastAppliedSpec != revision || c.Status.LastPromotedSpec != revision {
		t.Errorf("promoted %s (applied %s), want the failed revision %s again", c.Status.LastPromotedSpec, c.Status.LastAppliedSpec, revision)
	}
}

// pause, asked while the operator is down, holds the weight: no step for
// three intervals; resume lets the release finish.
func TestLeverPauseHoldsTheWeightUntilResume(t *testing.T) {
	t.Parallel()
	r := newLeverRelease(t)
	deployNewRevision(t, r.ns)
	waitForCanary(t, r.ns, "the release to reach weight 10", 60*time.Second, atLeastWeight(10))
	r.pullWhileDown("pause")
	rec := r.acknowledged(levers.Pause)
	r.assertEvent("Pause of podinfo." + r.ns + " requested by kubectl-serin:" + r.steerer.name)
	held := waitForCanary(t, r.ns, "the paused canary", time.Second, func(*flaggerv1.Canary) (bool, string) { return true, "" })
	if !strings.Contains(rec.Message, fmt.Sprintf("weight %d", held.Status.CanaryWeight)) {
		t.Errorf("the pause says %q; the canary is at weight %d", rec.Message, held.Status.CanaryWeight)
	}
	assertUnchangedFor(t, r.ns, 3*2*time.Second, held)
	out, err := kubectlSerin(t, r.kubeconfig, "resume", "podinfo")
	if err != nil {
		t.Fatalf("kubectl serin resume: %v\n%s", err, out)
	}
	waitForCanary(t, r.ns, "the resumed release to succeed", 60*time.Second, inPhase(flaggerv1.CanaryPhaseSucceeded))
}

// assertUnchangedFor watches the canary for d (three analysis intervals)
// and fails if its weight or last analysis changes.
func assertUnchangedFor(t *testing.T, ns string, d time.Duration, held *flaggerv1.Canary) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	e := framework.Get()
	wc, err := client.NewWithWatch(e.Cluster.Config, client.Options{Scheme: e.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	w, err := wc.Watch(ctx, &flaggerv1.CanaryList{}, client.InNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			c, isCanary := ev.Object.(*flaggerv1.Canary)
			if ev.Type != watch.Modified || !isCanary {
				continue
			}
			if c.Status.CanaryWeight != held.Status.CanaryWeight || c.Status.LastAnalysis == nil || !c.Status.LastAnalysis.Time.Equal(&held.Status.LastAnalysis.Time) {
				t.Fatalf("a paused release moved: weight %d → %d, last analysis %s → %s", held.Status.CanaryWeight, c.Status.CanaryWeight,
					held.Status.LastAnalysis.Time, c.Status.LastAnalysis.Time)
			}
		}
	}
}
