package analysis

import (
	"errors"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/workload"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// fakeChecks answers hooks and metrics from tables and counts calls.
type fakeChecks struct {
	hooks   map[flaggerv1.HookType][]HookResult
	metrics []MetricResult
	calls   map[flaggerv1.HookType]int
	// comparisons answer successive Compare calls, the last one again
	// once the others are used up.
	comparisons [][]ComparisonResult
	// windows are the windows Compare was asked for.
	windows []time.Duration
}

func (f *fakeChecks) Hooks(t flaggerv1.HookType) []HookResult {
	if f.calls == nil {
		f.calls = map[flaggerv1.HookType]int{}
	}
	f.calls[t]++
	return f.hooks[t]
}

func (f *fakeChecks) Metrics() []MetricResult { return f.metrics }

func (f *fakeChecks) Compare(window time.Duration) []ComparisonResult {
	f.windows = append(f.windows, window)
	if len(f.comparisons) == 0 {
		return nil
	}
	next := f.comparisons[0]
	if len(f.comparisons) > 1 {
		f.comparisons = f.comparisons[1:]
	}
	return next
}

type canaryOpt func(*flaggerv1.Canary)

func newCanary(opts ...canaryOpt) *flaggerv1.Canary {
	c := &flaggerv1.Canary{}
	c.Name, c.Namespace = "podinfo", "test"
	c.Spec.TargetRef = flaggerv1.TargetReference{Kind: "Deployment", Name: "podinfo"}
	c.Spec.Analysis = &flaggerv1.CanaryAnalysis{Interval: "10s", Threshold: 5, StepWeight: 5, MaxWeight: 50}
	c.Status = flaggerv1.CanaryStatus{Phase: flaggerv1.CanaryPhaseProgressing, LastAppliedSpec: "rev1", LastTransitionTime: metav1.NewTime(t0)}
	for _, o := range opts {
		o(c)
	}
	return c
}

func inPhase(p flaggerv1.CanaryPhase) canaryOpt {
	return func(c *flaggerv1.Canary) { c.Status.Phase = p }
}
func atWeight(w int) canaryOpt { return func(c *flaggerv1.Canary) { c.Status.CanaryWeight = w } }
func withFailedChecks(n int) canaryOpt {
	return func(c *flaggerv1.Canary) { c.Status.FailedChecks = n }
}
func withIterationsDone(n int) canaryOpt {
	return func(c *flaggerv1.Canary) { c.Status.Iterations = n }
}
func analysedAt(at time.Time) canaryOpt {
	return func(c *flaggerv1.Canary) {
		c.Status.LastAnalysis = &flaggerv1.AnalysisRecord{Time: metav1.NewTime(at), Passed: true}
	}
}
func withAnalysis(f func(a *flaggerv1.CanaryAnalysis)) canaryOpt {
	return func(c *flaggerv1.Canary) { f(c.Spec.Analysis) }
}
func withSpec(f func(s *flaggerv1.CanarySpec)) canaryOpt {
	return func(c *flaggerv1.Canary) { f(&c.Spec) }
}

func ready() workload.Readiness { return workload.Readiness{Ready: true} }

// healthy observes the same revision, both workloads ready, 10 s after t0.
func healthy() Observation {
	return Observation{Now: t0.Add(10 * time.Second), Target: Revision{TemplateHash: "rev1"}, CanaryReady: ready(), PrimaryReady: ready()}
}

// healthyExcept is healthy changed by change, when not nil.
func healthyExcept(change func(*Observation)) Observation {
	obs := healthy()
	if change != nil {
		change(&obs)
	}
	return obs
}

func closed(name string) []HookResult {
	return []HookResult{{Name: name, Err: errors.New("403 Forbidden")}}
}
func open(name string) []HookResult { return []HookResult{{Name: name}} }

func failingRate() []MetricResult {
	return []MetricResult{{Name: "request-success-rate", Value: "60.00", Threshold: ">= 99", Message: "Halt podinfo.test advancement success rate 60.00% < 99%"}}
}

func TestStep(t *testing.T) {
	cases := map[string]struct {
		canary *flaggerv1.Canary
		// obs changes the healthy observation.
		obs    func(o *Observation)
		checks fakeChecks
		// want* describe the decision; zero values are checked too.
		wantPhase        flaggerv1.CanaryPhase
		wantWeight       int
		wantFailedChecks int
		wantIterations   int
		wantEvents       []string
		wantRequeue      time.Duration
	}{
		"an initialized canary without a new revision stays idle": {
			canary: newCanary(inPhase(flaggerv1.CanaryPhaseInitialized)), wantPhase: flaggerv1.CanaryPhaseInitialized,
		},
		"a new revision starts the analysis": {
			canary: newCanary(inPhase(flaggerv1.CanaryPhaseSucceeded)), obs: newRev,
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantEvents: []string{"New revision detected! Scaling up podinfo.test"}, wantRequeue: 10 * time.Second,
		},
		"a changed config is a new revision": {
			canary:    newCanary(inPhase(flaggerv1.CanaryPhaseInitialized)),
			obs:       func(o *Observation) { o.Target.Configs = map[string]string{"configmap/podinfo-config": "abc"} },
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantEvents: []string{"New revision detected! Scaling up podinfo.test"}, wantRequeue: 10 * time.Second,
		},
		"a closed confirm-rollout gate waits": {
			canary: newCanary(inPhase(flaggerv1.CanaryPhaseInitialized)), obs: newRev,
			checks:    fakeChecks{hooks: map[flaggerv1.HookType][]HookResult{flaggerv1.ConfirmRolloutHook: closed("approval")}},
			wantPhase: flaggerv1.CanaryPhaseWaiting, wantEvents: []string{"Halt podinfo.test advancement waiting for approval approval"}, wantRequeue: 10 * time.Second,
		},
		"a still closed gate does not repeat its event": {
			canary: newCanary(inPhase(flaggerv1.CanaryPhaseWaiting)), obs: newRev,
			checks:    fakeChecks{hooks: map[flaggerv1.HookType][]HookResult{flaggerv1.ConfirmRolloutHook: closed("approval")}},
			wantPhase: flaggerv1.CanaryPhaseWaiting, wantRequeue: 10 * time.Second,
		},
		"an opened gate starts the analysis": {
			canary: newCanary(inPhase(flaggerv1.CanaryPhaseWaiting)), obs: newRev,
			checks:    fakeChecks{hooks: map[flaggerv1.HookType][]HookResult{flaggerv1.ConfirmRolloutHook: open("approval")}},
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantEvents: []string{"New revision detected! Scaling up podinfo.test"}, wantRequeue: 10 * time.Second,
		},
		"skipAnalysis promotes a new revision at once": {
			canary: newCanary(inPhase(flaggerv1.CanaryPhaseSucceeded), withSpec(func(s *flaggerv1.CanarySpec) { s.SkipAnalysis = true })), obs: newRev,
			wantPhase: flaggerv1.CanaryPhasePromoting, wantRequeue: 10 * time.Second,
			wantEvents: []string{"New revision detected! Scaling up podinfo.test", "Skipping analysis of podinfo.test: spec.skipAnalysis is true", "Copying podinfo.test template spec to podinfo-primary.test"},
		},
		"a suspended canary takes no step": {
			canary: newCanary(atWeight(10), withSpec(func(s *flaggerv1.CanarySpec) { s.Suspend = true })), obs: newRev,
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 10,
		},
		"the first run starts the analysis and advances": {
			canary: newCanary(), wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 5, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Starting canary analysis for podinfo.test", "Advance podinfo.test canary weight 5"},
		},
		"before the first step a metric without values passes": {
			canary: newCanary(), checks: fakeChecks{metrics: []MetricResult{{Name: "request-success-rate", NoValues: true,
				Message: "Halt advancement no values found for appmesh metric request-success-rate probably podinfo.test is not receiving traffic"}}},
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 5, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Starting canary analysis for podinfo.test", "Advance podinfo.test canary weight 5"},
		},
		"before the first step a failing metric with values halts": {
			canary: newCanary(), checks: fakeChecks{metrics: failingRate()},
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantFailedChecks: 1, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Starting canary analysis for podinfo.test", "Halt podinfo.test advancement success rate 60.00% < 99%"},
		},
		"once traffic is routed a metric without values fails": {
			canary: newCanary(atWeight(5), analysedAt(t0)), checks: fakeChecks{metrics: []MetricResult{{Name: "request-success-rate", NoValues: true,
				Message: "Halt advancement no values found for appmesh metric request-success-rate probably podinfo.test is not receiving traffic"}}},
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 5, wantFailedChecks: 1, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Halt advancement no values found for appmesh metric request-success-rate probably podinfo.test is not receiving traffic"},
		},
		"a run before the interval has passed waits": {
			canary:    newCanary(atWeight(5), analysedAt(t0.Add(4*time.Second))),
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 5, wantRequeue: 4 * time.Second,
		},
		"a run due by the record's second waits for when this process ran the step": {
			canary: newCanary(atWeight(5), analysedAt(t0)), obs: func(o *Observation) { o.SinceLastStep = 9300 * time.Millisecond },
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 5, wantRequeue: 700 * time.Millisecond,
		},
		"a run an interval after the step this process ran advances": {
			canary: newCanary(atWeight(5), analysedAt(t0)), obs: func(o *Observation) { o.SinceLastStep = 10200 * time.Millisecond },
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 10, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Advance podinfo.test canary weight 10"},
		},
		"a canary not ready yet waits": {
			canary: newCanary(atWeight(5)), obs: func(o *Observation) {
				o.CanaryReady = workload.Readiness{Message: "1 of 2 updated replicas are available"}
			},
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 5, wantRequeue: 10 * time.Second,
		},
		"a canary past its progress deadline rolls back": {
			canary: newCanary(atWeight(5)), obs: func(o *Observation) {
				o.CanaryReady = workload.Readiness{Message: "deployment podinfo exceeded its progress deadline", DeadlineExceeded: true}
			},
			wantPhase:  flaggerv1.CanaryPhaseFailed,
			wantEvents: []string{"Rolling back podinfo.test progress deadline exceeded deployment podinfo exceeded its progress deadline", "Canary failed! Scaling down podinfo.test"},
		},
		"a release waiting 11 minutes for promotion is not rolled back when its canary is momentarily not ready": {
			canary: newCanary(inPhase(flaggerv1.CanaryPhaseWaitingPromotion), atWeight(50), analysedAt(t0.Add(10*time.Minute)),
				func(c *flaggerv1.Canary) { c.Status.LastTransitionTime = metav1.NewTime(t0) }),
			obs: func(o *Observation) {
				o.Now = t0.Add(11 * time.Minute)
				o.CanaryReady = workload.Readiness{Message: "waiting for rollout of podinfo to finish: 1 of 2 updated replicas are available"}
			},
			wantPhase: flaggerv1.CanaryPhaseWaitingPromotion, wantWeight: 50, wantRequeue: 10 * time.Second,
		},
		"a blue/green release in its 12th iteration is not rolled back when its canary is momentarily not ready": {
			canary: newCanary(withIterationsDone(11), analysedAt(t0.Add(11*time.Minute)),
				withAnalysis(func(a *flaggerv1.CanaryAnalysis) { a.StepWeight, a.MaxWeight, a.Iterations = 0, 0, 20 })),
			obs: func(o *Observation) {
				o.Now = t0.Add(12 * time.Minute)
				o.CanaryReady = workload.Readiness{Message: "waiting for rollout of podinfo to finish: 1 of 2 updated replicas are available"}
			},
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantIterations: 11, wantRequeue: 10 * time.Second,
		},
		"a weight routed only now is judged one interval later": {
			canary: newCanary(atWeight(10), analysedAt(t0)), obs: func(o *Observation) { o.RoutesRestored = true },
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 10, wantRequeue: 10 * time.Second,
		},
		"a failed metric halts and counts": {
			canary: newCanary(atWeight(10), withFailedChecks(1), analysedAt(t0)), checks: fakeChecks{metrics: failingRate()},
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 10, wantFailedChecks: 2, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Halt podinfo.test advancement success rate 60.00% < 99%"},
		},
		"reaching the threshold exactly rolls back": {
			canary: newCanary(atWeight(15), withFailedChecks(4), analysedAt(t0)), checks: fakeChecks{metrics: failingRate()},
			wantPhase: flaggerv1.CanaryPhaseFailed, wantFailedChecks: 5,
			wantEvents: []string{"Halt podinfo.test advancement success rate 60.00% < 99%", "Rolling back podinfo.test failed checks threshold reached 5", "Canary failed! Scaling down podinfo.test"},
		},
		"failed checks already at the threshold roll back before any check": {
			canary:    newCanary(atWeight(15), withFailedChecks(5), analysedAt(t0)),
			wantPhase: flaggerv1.CanaryPhaseFailed, wantFailedChecks: 5,
			wantEvents: []string{"Rolling back podinfo.test failed checks threshold reached 5", "Canary failed! Scaling down podinfo.test"},
		},
		"a failed pre-rollout hook halts the first run": {
			canary: newCanary(), checks: fakeChecks{hooks: map[flaggerv1.HookType][]HookResult{flaggerv1.PreRolloutHook: closed("db-migration")}},
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantFailedChecks: 1, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Starting canary analysis for podinfo.test", "Halt podinfo.test advancement pre-rollout check db-migration failed 403 Forbidden"},
		},
		"a failed rollout hook halts": {
			canary: newCanary(atWeight(5), analysedAt(t0)), checks: fakeChecks{hooks: map[flaggerv1.HookType][]HookResult{flaggerv1.RolloutHook: closed("load-test")}},
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 5, wantFailedChecks: 1, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Halt podinfo.test advancement external check load-test failed 403 Forbidden"},
		},
		"a rollback webhook answering success rolls back": {
			canary: newCanary(atWeight(20), analysedAt(t0)), checks: fakeChecks{hooks: map[flaggerv1.HookType][]HookResult{flaggerv1.RollbackHook: open("rollback-gate")}},
			wantPhase:  flaggerv1.CanaryPhaseFailed,
			wantEvents: []string{"Rolling back podinfo.test manual webhook invoked", "Canary failed! Scaling down podinfo.test"},
		},
		"a closed rollback gate does not roll back": {
			canary: newCanary(atWeight(20), analysedAt(t0)), checks: fakeChecks{hooks: map[flaggerv1.HookType][]HookResult{flaggerv1.RollbackHook: closed("rollback-gate")}},
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 25, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Advance podinfo.test canary weight 25"},
		},
		"stepWeights pick the next entry": {
			canary:    newCanary(atWeight(10), analysedAt(t0), withAnalysis(func(a *flaggerv1.CanaryAnalysis) { a.StepWeight, a.MaxWeight, a.StepWeights = 0, 0, []int{1, 10, 80} })),
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 80, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Advance podinfo.test canary weight 80"},
		},
		"a maxWeight that is not a multiple of stepWeight caps the last step": {
			canary:    newCanary(atWeight(40), analysedAt(t0), withAnalysis(func(a *flaggerv1.CanaryAnalysis) { a.StepWeight, a.MaxWeight = 20, 50 })),
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 50, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Advance podinfo.test canary weight 50"},
		},
		"a closed traffic-increase gate holds the weight without failing": {
			canary: newCanary(atWeight(10), analysedAt(t0)), checks: fakeChecks{hooks: map[flaggerv1.HookType][]HookResult{flaggerv1.ConfirmTrafficIncreaseHook: closed("ramp")}},
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 10, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Halt podinfo.test advancement waiting for traffic increase approval ramp"},
		},
		"maxWeight reached promotes": {
			canary:    newCanary(atWeight(50), analysedAt(t0)),
			wantPhase: flaggerv1.CanaryPhasePromoting, wantWeight: 50, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Copying podinfo.test template spec to podinfo-primary.test"},
		},
		"a closed confirm-promotion gate waits for promotion": {
			canary: newCanary(atWeight(50), analysedAt(t0)), checks: fakeChecks{hooks: map[flaggerv1.HookType][]HookResult{flaggerv1.ConfirmPromotionHook: closed("promote")}},
			wantPhase: flaggerv1.CanaryPhaseWaitingPromotion, wantWeight: 50, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Halt podinfo.test advancement waiting for promotion approval promote"},
		},
		"an opened confirm-promotion gate promotes": {
			canary:    newCanary(inPhase(flaggerv1.CanaryPhaseWaitingPromotion), atWeight(50), analysedAt(t0)),
			checks:    fakeChecks{hooks: map[flaggerv1.HookType][]HookResult{flaggerv1.ConfirmPromotionHook: open("promote")}},
			wantPhase: flaggerv1.CanaryPhasePromoting, wantWeight: 50, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Copying podinfo.test template spec to podinfo-primary.test"},
		},
		"blue/green counts iterations": {
			canary:    newCanary(withIterationsDone(1), analysedAt(t0), withAnalysis(func(a *flaggerv1.CanaryAnalysis) { a.StepWeight, a.MaxWeight, a.Iterations = 0, 0, 3 })),
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantIterations: 2, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Advance podinfo.test canary iteration 2/3"},
		},
		"blue/green promotes after the last iteration": {
			canary:    newCanary(withIterationsDone(3), analysedAt(t0), withAnalysis(func(a *flaggerv1.CanaryAnalysis) { a.StepWeight, a.MaxWeight, a.Iterations = 0, 0, 3 })),
			wantPhase: flaggerv1.CanaryPhasePromoting, wantIterations: 3, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Copying podinfo.test template spec to podinfo-primary.test"},
		},
		"A/B testing counts iterations": {
			canary: newCanary(analysedAt(t0), withAnalysis(func(a *flaggerv1.CanaryAnalysis) {
				a.StepWeight, a.MaxWeight, a.Iterations = 0, 0, 10
				a.Match = []flaggerv1.HTTPMatchRequest{{Headers: map[string]flaggerv1.StringMatch{"x-canary": {Exact: "insider"}}}}
			})),
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantIterations: 1, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Advance podinfo.test canary iteration 1/10"},
		},
		"a new revision during analysis restarts it": {
			canary: newCanary(atWeight(25), withFailedChecks(2), analysedAt(t0)), obs: newRev,
			wantPhase: flaggerv1.CanaryPhaseProgressing, wantRequeue: 10 * time.Second,
			wantEvents: []string{"New revision detected! Restarting analysis for podinfo.test"},
		},
		"promotion waits for the primary to run the new template": {
			canary:    newCanary(inPhase(flaggerv1.CanaryPhasePromoting), atWeight(50)),
			wantPhase: flaggerv1.CanaryPhasePromoting, wantWeight: 50, wantRequeue: 10 * time.Second,
		},
		"a promoted primary takes all traffic": {
			canary: newCanary(inPhase(flaggerv1.CanaryPhasePromoting), atWeight(50)), obs: func(o *Observation) { o.PrimaryPromoted = true },
			wantPhase: flaggerv1.CanaryPhaseFinalising, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Routing all traffic to primary"},
		},
		"stepWeightPromotion moves traffic back in steps": {
			canary:    newCanary(inPhase(flaggerv1.CanaryPhasePromoting), atWeight(50), analysedAt(t0), withAnalysis(func(a *flaggerv1.CanaryAnalysis) { a.StepWeightPromotion = 20 })),
			obs:       func(o *Observation) { o.PrimaryPromoted = true },
			wantPhase: flaggerv1.CanaryPhasePromoting, wantWeight: 30, wantRequeue: 10 * time.Second,
			wantEvents: []string{"Advance podinfo.test primary weight 70"},
		},
		"finalising waits for the canary to scale down": {
			canary: newCanary(inPhase(flaggerv1.CanaryPhaseFinalising)), wantPhase: flaggerv1.CanaryPhaseFinalising, wantRequeue: 10 * time.Second,
		},
		"a scaled-down canary completes the promotion": {
			canary: newCanary(inPhase(flaggerv1.CanaryPhaseFinalising)), obs: func(o *Observation) { o.CanaryScaledDown = true },
			wantPhase:  flaggerv1.CanaryPhaseSucceeded,
			wantEvents: []string{"Promotion completed! Scaling down podinfo.test"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before := tc.canary.DeepCopy()
			d := Step(tc.canary, healthyExcept(tc.obs), &tc.checks)
			if !reflect.DeepEqual(before, tc.canary) {
				t.Fatal("Step modified the canary")
			}
			s := d.Status
			if s.Phase != tc.wantPhase || s.CanaryWeight != tc.wantWeight || s.FailedChecks != tc.wantFailedChecks || s.Iterations != tc.wantIterations {
				t.Errorf("phase %s weight %d failedChecks %d iterations %d; want %s %d %d %d",
					s.Phase, s.CanaryWeight, s.FailedChecks, s.Iterations, tc.wantPhase, tc.wantWeight, tc.wantFailedChecks, tc.wantIterations)
			}
			var msgs []string
			for _, e := range d.Events {
				msgs = append(msgs, e.Message)
			}
			if !reflect.DeepEqual(msgs, tc.wantEvents) {
				t.Errorf("events\n%q\nwant\n%q", msgs, tc.wantEvents)
			}
			if d.RequeueAfter != tc.wantRequeue {
				t.Errorf("requeue %s, want %s", d.RequeueAfter, tc.wantRequeue)
			}
		})
	}
}

func newRev(o *Observation) { o.Target.TemplateHash = "rev2" }
