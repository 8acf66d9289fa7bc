package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/internal/telemetry"
)

// The end of a release is carried out in one order: the status is written,
// the routes move (all traffic to the primary), the target scales down,
// and only then are the messages sent and the post-rollout webhooks
// called; then the debt of post-rollout calls is cleared.
func TestTheEndOfAReleaseMovesRoutesBeforeMessagesAndHooks(t *testing.T) {
	cases := map[string]struct {
		fixture release
		rate    float64
		// canaryWeight is on the routing object before the step.
		canaryWeight int
		// want are journal prefixes in the order they must happen.
		want []string
	}{
		"a rollback": {
			fixture: newRelease(atWeight(20), withFailedChecks(4), withWebhooks(flaggerv1.PostRolloutHook, flaggerv1.EventHook)),
			rate:    60, canaryWeight: 20,
			want: []string{
				`status Failed weight 0 pendingPostRollout "`,
				"fake: routes 100/0",
				"patch deployment podinfo replicas 0",
				"event Warning Halt",
				"notify Halt podinfo.test advancement success rate 60.00% < 99% (warn, weight 0, 1 checks)",
				"event Warning RollingBack Rolling back podinfo.test failed checks threshold reached 5",
				"notify Rolling back podinfo.test failed checks threshold reached 5 (error",
				"notify Canary failed! Scaling down podinfo.test (error",
				"hook post-rollout",
				`status Failed weight 0 pendingPostRollout ""`,
			},
		},
		"a completed promotion": {
			fixture: newRelease(inPhase(flaggerv1.CanaryPhaseFinalising), atWeight(0), withWebhooks(flaggerv1.PostRolloutHook, flaggerv1.EventHook),
				func(c *flaggerv1.Canary) { c.Status.LastPromotedSpec = c.Status.LastAppliedSpec }),
			rate: 100,
			want: []string{
				`status Succeeded weight 0 pendingPostRollout "`,
				"notify Promotion completed! Scaling down podinfo.test (info",
				"hook post-rollout",
				`status Succeeded weight 0 pendingPostRollout ""`,
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if tc.fixture.canary.Status.Phase == flaggerv1.CanaryPhaseFinalising {
				zero := int32(0)
				tc.fixture.target.Spec.Replicas = &zero
			}
			e := newEnv(t, withObjects(tc.fixture.objects()...), withSuccessRate(tc.rate))
			e.routed(100-tc.canaryWeight, tc.canaryWeight)
			if _, err := e.reconcile(); err != nil {
				t.Fatal(err)
			}
			e.j.assertOrder(t, tc.want...)
			if c := e.canary(); c.Status.PendingPostRollout != "" {
				t.Errorf("pendingPostRollout %q after the hooks were called", c.Status.PendingPostRollout)
			}
		})
	}
}

// A post-rollout debt left by a crash is paid on the next reconcile, once
// the routes match the final status, with the checksum of the release.
func TestPostRolloutWebhooksOwedAcrossARestartAreCalledOnce(t *testing.T) {
	f := newRelease(inPhase(flaggerv1.CanaryPhaseFailed), atWeight(0), withWebhooks(flaggerv1.PostRolloutHook),
		func(c *flaggerv1.Canary) { c.Status.PendingPostRollout = "0123456789abcdef" })
	zero := int32(0)
	f.target.Spec.Replicas = &zero
	e := newEnv(t, withObjects(f.objects()...))
	e.routed(80, 20)
	for range 2 {
		if _, err := e.reconcile(); err != nil {
			t.Fatal(err)
		}
	}
	e.j.assertOrder(t, "fake: routes 100/0", "hook post-rollout 0123456789abcdef", `status Failed weight 0 pendingPostRollout ""`)
	if n := strings.Count(strings.Join(e.j.all(), "\n"), "hook post-rollout"); n != 1 {
		t.Errorf("post-rollout called %d times, want once", n)
	}
}

// A step whose status write conflicts (the cache was stale) is not carried
// out: no route moves, no message is sent, and the canary is retried soon.
func TestAConflictingStatusWriteCarriesOutNothing(t *testing.T) {
	f := newRelease(atWeight(20), withFailedChecks(4), withWebhooks(flaggerv1.EventHook))
	e := newEnv(t, withObjects(f.objects()...), withSuccessRate(60), withInterceptor(interceptor.Funcs{
		SubResourceUpdate: func(context.Context, client.Client, string, client.Object, ...client.SubResourceUpdateOption) error {
			return apierrors.NewConflict(schema.GroupResource{Group: "flagger.app", Resource: "canaries"}, "podinfo", errors.New("stale"))
		},
	}))
	e.routed(80, 20)
	res, err := e.reconcile()
	if err != nil || res.RequeueAfter != conflictRetry {
		t.Fatalf("result %+v, error %v; want a retry after %s", res, err, conflictRetry)
	}
	for _, prefix := range []string{"fake: routes", "notify", "event", "patch deployment"} {
		if i := e.j.index(prefix); i >= 0 {
			t.Errorf("%q happened after a conflicting status write:\n%s", e.j.all()[i], strings.Join(e.j.all(), "\n"))
		}
	}
}

// A primary the cache has not seen yet, but the API server has, is not a
// problem: the reconcile is retried shortly instead of reported.
func TestAPrimaryCreatedButNotCachedIsRetriedNotReported(t *testing.T) {
	f := newRelease(inPhase(""))
	e := newEnv(t, withObjects(f.canary, f.target), withInterceptor(interceptor.Funcs{
		Create: func(_ context.Context, _ client.WithWatch, obj client.Object, _ ...client.CreateOption) error {
			if _, ok := obj.(*appsv1.Deployment); ok && obj.GetName() == "podinfo-primary" {
				return apierrors.NewAlreadyExists(schema.GroupResource{Group: "apps", Resource: "deployments"}, obj.GetName())
			}
			return nil
		},
	}))
	res, err := e.reconcile()
	if err != nil || res.RequeueAfter != conflictRetry {
		t.Fatalf("result %+v, error %v; want a retry after %s", res, err, conflictRetry)
	}
	if cond := meta.FindStatusCondition(e.canary().Status.Conditions, flaggerv1.ReadyCondition); cond != nil && cond.Status == "False" {
		t.Errorf("cache lag reported as a problem: %+v", cond)
	}
}

// Moving a canary to another provider in the middle of a release creates
// the new routing with the current weights before the old one is removed.
func TestSwitchingProviderCarriesTheWeightsOver(t *testing.T) {
	f := newRelease(atWeight(30), withProvider("other"), func(c *flaggerv1.Canary) { c.Status.LastAnalysis.Time.Time = t0 })
	e := newEnv(t, withObjects(f.objects()...))
	e.routed(70, 30)
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	e.j.assertOrder(t, "other: create routes 70/30", "fake: cleanup", "event Normal ProviderChanged")
	if c := e.canary(); c.Status.Provider != "other" {
		t.Errorf("status.provider %q, want other", c.Status.Provider)
	}
}

// A routing object deleted by hand comes back with the weights of the
// status, not 100/0: traffic does not jump between the steps.
func TestADeletedRoutingObjectIsRecreatedWithTheCurrentWeights(t *testing.T) {
	f := newRelease(atWeight(30), func(c *flaggerv1.Canary) { c.Status.LastAnalysis.Time.Time = t0 })
	e := newEnv(t, withObjects(f.objects()...))
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	exists, w := e.routes["fake"].get()
	if !exists || w != (router.Weights{Primary: 70, Canary: 30}) {
		t.Errorf("routing object exists %v with %+v; want it recreated with 70/30", exists, w)
	}
	if e.j.index("fake: routes") >= 0 {
		t.Errorf("the weights were written after the creation:\n%s", strings.Join(e.j.all(), "\n"))
	}
}

// Webhooks that never answer are cut at the step's budget: the step ends,
// records why the check failed, and the reconcile returns.
func TestHangingWebhooksAreCutAtTheStepBudget(t *testing.T) {
	f := newRelease(atWeight(20), withWebhooks(flaggerv1.RolloutHook))
	e := newEnv(t, withObjects(f.objects()...), withHangingHooks(flaggerv1.RolloutHook), withStepTimeout(50*time.Millisecond))
	e.routed(80, 20)
	if err := e.reconcileWithin(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	c := e.canary()
	la := c.Status.LastAnalysis
	if c.Status.FailedChecks != 1 || la == nil || len(la.Checks) == 0 || !strings.Contains(la.Checks[0].Message, "budget of 50ms") {
		t.Errorf("failedChecks %d, lastAnalysis %+v; want one failed check naming the step budget", c.Status.FailedChecks, la)
	}
}

// Routes that lag the status (a restart between a step's status write and
// its routes) are set before the next step, which then waits a full
// interval: the weight is judged on traffic it actually carried.
func TestRoutesThatLagTheStatusAreSetAndTheStepWaits(t *testing.T) {
	f := newRelease(atWeight(20), withWebhooks(flaggerv1.EventHook))
	e := newEnv(t, withObjects(f.objects()...))
	e.routed(90, 10)
	res, err := e.reconcile()
	if err != nil {
		t.Fatal(err)
	}
	if _, w := e.routes["fake"].get(); w.Canary != 20 {
		t.Errorf("routes %+v, want the status's 80/20", w)
	}
	c := e.canary()
	if c.Status.CanaryWeight != 20 || res.RequeueAfter != 10*time.Second || !c.Status.LastAnalysis.Time.Time.Equal(t0) {
		t.Errorf("weight %d, requeue %s, last analysis at %s; want 20, one interval, now", c.Status.CanaryWeight, res.RequeueAfter, c.Status.LastAnalysis.Time)
	}
	if i := e.j.index("notify Advance"); i >= 0 {
		t.Errorf("the step advanced on a weight that had just been routed: %s", e.j.all()[i])
	}
}

// Cached routes one write behind the API server (the routing object's
// event not yet delivered after the operator set the status's weights) do
// not count as routes that lag: nothing is written and the due step runs.
// Before, the step was replaced by "Traffic moved to canary weight 20
// only now", losing its checks from status.lastAnalysis.
func TestRoutesTheCacheHasNotSeenYetAreNotRestored(t *testing.T) {
	f := newRelease(atWeight(20))
	e := newEnv(t, withObjects(f.objects()...))
	e.routed(80, 20)
	e.r.Routers = router.NewFactory(map[string]router.Router{"fake": cachedRoutes{e.routes["fake"], router.Weights{Primary: 90, Canary: 10}}})
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	if i := e.j.index("fake: routes 80/20"); i >= 0 {
		t.Errorf("routes the API server already had were written again: %s", e.j.all()[i])
	}
	c := e.canary()
	if la := c.Status.LastAnalysis; c.Status.CanaryWeight != 30 || la == nil || strings.Contains(la.Decision, "only now") {
		t.Errorf("weight %d, last analysis %+v; want the due step to weight 30", c.Status.CanaryWeight, la)
	}
}

// The routes of a step move right after its status write, with no read
// in between: the status just written is the canary's latest, so asking
// the API server whether the cached one is stale only delays the routes
// (on a rollback, traffic stays on the failed canary that much longer).
func TestAStepsRoutesFollowItsStatusWriteWithoutARead(t *testing.T) {
	f := newRelease(atWeight(20))
	var uncached atomic.Int32
	e := newEnv(t, withObjects(f.objects()...), withInterceptor(interceptor.Funcs{
		Get: func(ctx context.Context, cl client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if _, ok := obj.(*metav1.PartialObjectMetadata); ok {
				uncached.Add(1)
			}
			return cl.Get(ctx, key, obj, opts...)
		},
	}))
	e.routed(80, 20)
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	if _, w := e.routes["fake"].get(); w.Canary != 30 {
		t.Fatalf("routes %+v, want the step's 70/30", w)
	}
	if n := uncached.Load(); n != 0 {
		t.Errorf("%d reads of the canary between its status write and its routes, want none", n)
	}
}

// A cached canary older than the operator's own status write (its watch
// event not yet delivered) is not reconciled: a step decided on it would
// only end in a conflict, a wasted write and a retry. The reconcile waits
// for the event instead; once the cache has the write, it proceeds.
func TestACachedCanaryOlderThanTheOperatorsOwnWriteWaitsForTheWatch(t *testing.T) {
	f := newRelease(atWeight(20))
	var cached atomic.Pointer[flaggerv1.Canary]
	e := newEnv(t, withObjects(f.objects()...), withInterceptor(interceptor.Funcs{
		Get: func(ctx context.Context, cl client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if c, ok := obj.(*flaggerv1.Canary); ok && cached.Load() != nil {
				cached.Load().DeepCopyInto(c)
				return nil
			}
			return cl.Get(ctx, key, obj, opts...)
		},
	}))
	e.routed(80, 20)
	cached.Store(e.canary())
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	stepped := len(e.j.all())
	res, err := e.reconcile()
	if err != nil {
		t.Fatal(err)
	}
	if after := e.j.all()[stepped:]; len(after) != 0 || res.RequeueAfter != ownWriteWait {
		t.Errorf("reconcile of the stale copy: %q, requeue after %s; want nothing done and a wait of %s for the watch", after, res.RequeueAfter, ownWriteWait)
	}
	cached.Store(nil)
	if res, err := e.reconcile(); err != nil || res.RequeueAfter == ownWriteWait {
		t.Errorf("with the write in the cache: result %+v, error %v; want a reconcile", res, err)
	}
}

// cachedRoutes is a router whose reads return the weights a cache still
// holds.
type cachedRoutes struct {
	*fakeRouter
	cached router.Weights
}

func (r cachedRoutes) GetRoutes(context.Context, *flaggerv1.Canary) (router.Weights, error) {
	return r.cached, nil
}

// A provider that cannot split traffic (kubernetes) never has lagging
// routes: its releases step at every interval.
func TestAReleaseWithoutWeightedRoutingStepsEveryInterval(t *testing.T) {
	// kubernetes routes no weights, so its releases are blue/green by
	// iterations (a weighted one is refused at admission).
	f := newRelease(withProvider("kubernetes"), func(c *flaggerv1.Canary) {
		c.Status.Provider, c.Status.Iterations = "kubernetes", 1
		c.Spec.Analysis.StepWeight, c.Spec.Analysis.MaxWeight, c.Spec.Analysis.Iterations = 0, 0, 5
	})
	e := newEnv(t, withObjects(f.objects()...))
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	if c := e.canary(); c.Status.Iterations != 2 {
		t.Errorf("iteration %d after a step, want 2", c.Status.Iterations)
	}
}

// A routing object created by an earlier reconcile that the cache has not
// seen yet is retried, not reported.
func TestARoutingObjectAlreadyCreatedIsRetriedNotReported(t *testing.T) {
	f := newRelease(atWeight(20))
	e := newEnv(t, withObjects(f.objects()...))
	e.routed(80, 20)
	e.r.Routers = router.NewFactory(map[string]router.Router{"fake": alreadyExists{e.routes["fake"]}})
	res, err := e.reconcile()
	if err != nil || res.RequeueAfter != conflictRetry {
		t.Fatalf("result %+v, error %v; want a retry after %s", res, err, conflictRetry)
	}
	if cond := meta.FindStatusCondition(e.canary().Status.Conditions, flaggerv1.ReadyCondition); cond != nil && cond.Status == "False" {
		t.Errorf("cache lag reported as a problem: %+v", cond)
	}
}

// alreadyExists is a router whose Reconcile creates what exists already.
type alreadyExists struct{ *fakeRouter }

func (alreadyExists) Reconcile(context.Context, *flaggerv1.Canary, router.Weights) error {
	return fmt.Errorf("create VirtualService podinfo: %w", apierrors.NewAlreadyExists(schema.GroupResource{Resource: "virtualservices"}, "podinfo"))
}

// The next step is due an interval after a step ran, not after its writes
// ended: under a slow API server each step would otherwise come later by
// the time its own writes took, step after step.
func TestTheNextStepIsDueAnIntervalAfterTheStepNotAfterItsWrites(t *testing.T) {
	f := newRelease(atWeight(20))
	var e *env
	writes := 0
	// The step's status write takes 3 s.
	slowStatus := interceptor.Funcs{SubResourceUpdate: func(context.Context, client.Client, string, client.Object, ...client.SubResourceUpdateOption) error {
		if writes++; writes == 1 {
			e.clock.Step(3 * time.Second)
		}
		return nil
	}}
	e = newEnv(t, withObjects(f.objects()...), withInterceptor(slowStatus))
	e.routed(80, 20)
	res, err := e.reconcile()
	if err != nil {
		t.Fatal(err)
	}
	c := e.canary()
	if c.Status.CanaryWeight == 20 || !c.Status.LastAnalysis.Time.Time.Equal(t0) {
		t.Fatalf("weight %d, last analysis at %s; want a step at %s", c.Status.CanaryWeight, c.Status.LastAnalysis.Time, t0)
	}
	if want := 7 * time.Second; res.RequeueAfter != want {
		t.Errorf("requeue after %s, 3 s after the step; want %s, an interval after it", res.RequeueAfter, want)
	}
}

// The status records a step's time to the second; the next step is due an
// interval after the step really ran, which this process remembers, and
// not up to a second earlier, when the record's second says it is.
func TestTheNextStepIsNotTakenBeforeAnIntervalHasPassed(t *testing.T) {
	f := newRelease(atWeight(20))
	e := newEnv(t, withObjects(f.objects()...))
	e.routed(80, 20)
	e.clock.Step(700 * time.Millisecond)
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	stepped := e.canary().Status.CanaryWeight
	e.routes["fake"].weights = router.Weights{Primary: 100 - stepped, Canary: stepped}
	e.clock.Step(9300 * time.Millisecond)
	res, err := e.reconcile()
	if err != nil {
		t.Fatal(err)
	}
	if w := e.canary().Status.CanaryWeight; w != stepped || res.RequeueAfter != 700*time.Millisecond {
		t.Errorf("9.3 s after a step: weight %d, requeue after %s; want %d, the step due in 700ms", w, res.RequeueAfter, stepped)
	}
	e.clock.Step(700 * time.Millisecond)
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	if w := e.canary().Status.CanaryWeight; w == stepped {
		t.Errorf("an interval after the step: weight still %d, want the next step", w)
	}
}

// How late each step ran is observed once, against an interval after the
// step before it: not for a step after one another process took (its
// time is known to the second only), nor for a reconcile that took no
// step.
func TestEachStepsLatenessIsObservedOnce(t *testing.T) {
	f := newRelease(atWeight(20))
	e := newEnv(t, withObjects(f.objects()...))
	reg := prometheus.NewRegistry()
	rec, err := telemetry.New(reg, e.client, "dev", "fake")
	if err != nil {
		t.Fatal(err)
	}
	e.r.Telemetry = rec
	step := func(after time.Duration) {
		t.Helper()
		c := e.canary()
		e.routes["fake"].weights = router.Weights{Primary: 100 - c.Status.CanaryWeight, Canary: c.Status.CanaryWeight}
		e.clock.Step(after)
		if _, err := e.reconcile(); err != nil {
			t.Fatal(err)
		}
	}
	step(700 * time.Millisecond)   // after a step this process did not take
	step(10300 * time.Millisecond) // 300 ms late
	step(500 * time.Millisecond)   // no step
	step(12700 * time.Millisecond) // 3.2 s late
	if w := e.canary().Status.CanaryWeight; w != 50 {
		t.Fatalf("weight %d after three steps from 20, want 50", w)
	}
	want := `
# HELP serin_step_lateness_seconds Seconds between when an analysis step was due (an interval after the previous step ran) and when it ran; a step held back by a gate (a workload not ready) is late too.
# TYPE serin_step_lateness_seconds histogram
serin_step_lateness_seconds_bucket{le="0.01"} 0
serin_step_lateness_seconds_bucket{le="0.025"} 0
serin_step_lateness_seconds_bucket{le="0.05"} 0
serin_step_lateness_seconds_bucket{le="0.1"} 0
serin_step_lateness_seconds_bucket{le="0.25"} 0
serin_step_lateness_seconds_bucket{le="0.5"} 1
serin_step_lateness_seconds_bucket{le="1"} 1
serin_step_lateness_seconds_bucket{le="2.5"} 1
serin_step_lateness_seconds_bucket{le="5"} 2
serin_step_lateness_seconds_bucket{le="10"} 2
serin_step_lateness_seconds_bucket{le="30"} 2
serin_step_lateness_seconds_bucket{le="60"} 2
serin_step_lateness_seconds_bucket{le="300"} 2
serin_step_lateness_seconds_bucket{le="+Inf"} 2
serin_step_lateness_seconds_sum 3.5
serin_step_lateness_seconds_count 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "serin_step_lateness_seconds"); err != nil {
		t.Error(err)
	}
}
