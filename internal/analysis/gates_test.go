package analysis

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/workload"
)

func notReady(msg string) func(*Observation) {
	return func(o *Observation) { o.CanaryReady = workload.Readiness{Message: msg} }
}

func notReadySince(at time.Time) canaryOpt {
	return func(c *flaggerv1.Canary) { c.Status.CanaryNotReadySince = &metav1.Time{Time: at} }
}

func TestCanaryReadyGate(t *testing.T) {
	now := t0.Add(time.Hour)
	cases := map[string]struct {
		canary *flaggerv1.Canary
		obs    func(*Observation)
		// want is the verdict, wantSince the not-ready clock afterwards.
		want      verdict
		wantSince *time.Time
	}{
		"a ready canary passes and stops the clock": {
			canary: newCanary(notReadySince(now.Add(-time.Minute))), want: pass,
		},
		"a canary first seen not ready holds and starts the clock": {
			canary: newCanary(), obs: notReady("1 of 2 available"), want: hold, wantSince: &now,
		},
		"a canary not ready for less than its deadline holds": {
			canary: newCanary(notReadySince(now.Add(-599 * time.Second))), obs: notReady("1 of 2 available"),
			want: hold, wantSince: ptrTime(now.Add(-599 * time.Second)),
		},
		"a canary not ready for its whole deadline rolls back": {
			canary: newCanary(notReadySince(now.Add(-600 * time.Second))), obs: notReady("1 of 2 available"),
			want: rollBack, wantSince: ptrTime(now.Add(-600 * time.Second)),
		},
		"progressDeadlineSeconds sets the deadline": {
			canary: newCanary(notReadySince(now.Add(-60*time.Second)), withSpec(func(s *flaggerv1.CanarySpec) { s.ProgressDeadlineSeconds = ptrInt32(60) })),
			obs:    notReady("1 of 2 available"), want: rollBack, wantSince: ptrTime(now.Add(-60 * time.Second)),
		},
		"the Deployment's own ProgressDeadlineExceeded rolls back at once": {
			canary: newCanary(), obs: func(o *Observation) {
				o.CanaryReady = workload.Readiness{Message: "deployment podinfo exceeded its progress deadline", DeadlineExceeded: true}
			},
			want: rollBack,
		},
		"a phase that changed long ago does not count as not-ready time": {
			canary: newCanary(func(c *flaggerv1.Canary) { c.Status.LastTransitionTime = metav1.NewTime(now.Add(-24 * time.Hour)) }),
			obs:    notReady("1 of 2 available"), want: hold, wantSince: &now,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			obs := healthyExcept(tc.obs)
			obs.Now = now
			st := &stepper{c: tc.canary, obs: obs, s: *tc.canary.Status.DeepCopy()}
			got := st.canaryReadyGate()
			if got.verdict != tc.want {
				t.Errorf("verdict %d (%q), want %d", got.verdict, got.message, tc.want)
			}
			since := st.s.CanaryNotReadySince
			switch {
			case tc.wantSince == nil && since != nil:
				t.Errorf("canaryNotReadySince %s, want none", since)
			case tc.wantSince != nil && (since == nil || !since.Time.Equal(*tc.wantSince)):
				t.Errorf("canaryNotReadySince %v, want %s", since, tc.wantSince)
			}
		})
	}
}

func TestOtherTickGates(t *testing.T) {
	cases := map[string]struct {
		gate   func(*stepper) gateResult
		canary *flaggerv1.Canary
		obs    func(*Observation)
		checks fakeChecks
		want   verdict
	}{
		"a primary not ready holds": {
			gate: (*stepper).primaryReadyGate, canary: newCanary(),
			obs: func(o *Observation) { o.PrimaryReady = workload.Readiness{Message: "0 of 2"} }, want: hold,
		},
		"a ready primary passes": {gate: (*stepper).primaryReadyGate, canary: newCanary(), want: pass},
		"a rollback webhook answering success rolls back": {
			gate: (*stepper).rollbackHookGate, canary: newCanary(),
			checks: fakeChecks{hooks: map[flaggerv1.HookType][]HookResult{flaggerv1.RollbackHook: open("gate")}}, want: rollBack,
		},
		"a closed rollback webhook passes": {
			gate: (*stepper).rollbackHookGate, canary: newCanary(),
			checks: fakeChecks{hooks: map[flaggerv1.HookType][]HookResult{flaggerv1.RollbackHook: closed("gate")}}, want: pass,
		},
		"failed checks at the threshold roll back": {gate: (*stepper).thresholdGate, canary: newCanary(withFailedChecks(5)), want: rollBack},
		"failed checks below the threshold pass":   {gate: (*stepper).thresholdGate, canary: newCanary(withFailedChecks(4)), want: pass},
		"a failed check below the threshold holds": {
			gate: (*stepper).checksGate, canary: newCanary(analysedAt(t0)), checks: fakeChecks{metrics: failingRate()}, want: hold,
		},
		"the failed check that reaches the threshold rolls back": {
			gate: (*stepper).checksGate, canary: newCanary(analysedAt(t0), withFailedChecks(4)), checks: fakeChecks{metrics: failingRate()}, want: rollBack,
		},
		"passing checks pass": {gate: (*stepper).checksGate, canary: newCanary(analysedAt(t0)), want: pass},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			st := &stepper{c: tc.canary, obs: healthyExcept(tc.obs), checks: &tc.checks, s: *tc.canary.Status.DeepCopy()}
			if got := tc.gate(st); got.verdict != tc.want {
				t.Errorf("verdict %d (%q), want %d", got.verdict, got.message, tc.want)
			}
		})
	}
}

// The end of a release owes its post-rollout webhooks; Step itself never
// calls them, so nothing slow stands between a rollback decision and the
// routes moving back to the primary.
func TestEndingAReleaseLeavesPostRolloutWebhooksToTheReconciler(t *testing.T) {
	withPostRollout := withAnalysis(func(a *flaggerv1.CanaryAnalysis) {
		a.Webhooks = []flaggerv1.CanaryWebhook{{Name: "notify", Type: flaggerv1.PostRolloutHook, URL: "http://hooks/"}}
	})
	cases := map[string]struct {
		canary *flaggerv1.Canary
		obs    func(*Observation)
		checks fakeChecks
		// wantOwed is whether status.pendingPostRollout is set.
		wantOwed  bool
		wantPhase flaggerv1.CanaryPhase
	}{
		"a rollback owes the post-rollout webhooks": {
			canary: newCanary(withPostRollout, atWeight(20), withFailedChecks(4), analysedAt(t0)), checks: fakeChecks{metrics: failingRate()},
			wantOwed: true, wantPhase: flaggerv1.CanaryPhaseFailed,
		},
		"a completed promotion owes the post-rollout webhooks": {
			canary: newCanary(withPostRollout, inPhase(flaggerv1.CanaryPhaseFinalising)), obs: func(o *Observation) { o.CanaryScaledDown = true },
			wantOwed: true, wantPhase: flaggerv1.CanaryPhaseSucceeded,
		},
		"a canary without post-rollout webhooks owes nothing": {
			canary: newCanary(atWeight(20), withFailedChecks(4), analysedAt(t0)), checks: fakeChecks{metrics: failingRate()},
			wantPhase: flaggerv1.CanaryPhaseFailed,
		},
		"an advancing release owes nothing": {
			canary: newCanary(withPostRollout, atWeight(20), analysedAt(t0)), wantPhase: flaggerv1.CanaryPhaseProgressing,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := Step(tc.canary, healthyExcept(tc.obs), &tc.checks)
			if n := tc.checks.calls[flaggerv1.PostRolloutHook]; n != 0 {
				t.Errorf("Step called the post-rollout webhooks %d times", n)
			}
			if d.Status.Phase != tc.wantPhase {
				t.Errorf("phase %s, want %s", d.Status.Phase, tc.wantPhase)
			}
			want := ""
			if tc.wantOwed {
				want = Checksum(d.Status)
			}
			if d.Status.PendingPostRollout != want {
				t.Errorf("pendingPostRollout %q, want %q", d.Status.PendingPostRollout, want)
			}
		})
	}
}

// Reconciling says, in words a user can act on, what holds a release back,
// and is absent once the canary is idle.
func TestReconcilingConditionSaysWhatTheReleaseWaitsFor(t *testing.T) {
	cases := map[string]struct {
		canary *flaggerv1.Canary
		obs    func(*Observation)
		checks fakeChecks
		// wantMessage is the condition's message; empty means no condition.
		wantMessage string
	}{
		"a canary not ready yet": {
			canary: newCanary(atWeight(5), analysedAt(t0)), obs: notReady("waiting for rollout of podinfo to finish: 1 of 2 updated replicas are available"),
			wantMessage: "waiting for rollout of podinfo to finish: 1 of 2 updated replicas are available",
		},
		"a primary not ready yet": {
			canary: newCanary(atWeight(5), analysedAt(t0)), obs: func(o *Observation) {
				o.PrimaryReady = workload.Readiness{Message: "waiting for rollout of podinfo-primary to finish"}
			},
			wantMessage: "waiting for rollout of podinfo-primary to finish",
		},
		"a halted release": {
			canary: newCanary(atWeight(10), analysedAt(t0)), checks: fakeChecks{metrics: failingRate()},
			wantMessage: "Halt podinfo.test advancement success rate 60.00% < 99%",
		},
		"a closed promotion gate": {
			canary: newCanary(atWeight(50), analysedAt(t0)), checks: fakeChecks{hooks: map[flaggerv1.HookType][]HookResult{flaggerv1.ConfirmPromotionHook: closed("promote")}},
			wantMessage: "Halt podinfo.test advancement waiting for promotion approval promote",
		},
		"an advancing release": {
			canary: newCanary(atWeight(10), analysedAt(t0)), wantMessage: "New revision detected, progressing canary analysis.",
		},
		"a failed release": {
			canary: newCanary(atWeight(10), withFailedChecks(4), analysedAt(t0)), checks: fakeChecks{metrics: failingRate()},
		},
		"an idle canary": {canary: newCanary(inPhase(flaggerv1.CanaryPhaseSucceeded))},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := Step(tc.canary, healthyExcept(tc.obs), &tc.checks)
			cond := meta.FindStatusCondition(d.Status.Conditions, flaggerv1.ReconcilingCondition)
			switch {
			case tc.wantMessage == "" && cond != nil:
				t.Errorf("Reconciling %+v, want none", cond)
			case tc.wantMessage != "" && (cond == nil || cond.Status != metav1.ConditionTrue || cond.Message != tc.wantMessage):
				t.Errorf("Reconciling %+v, want True with %q", cond, tc.wantMessage)
			}
		})
	}
}

func TestAbortFailsOnlyAReleaseInProgress(t *testing.T) {
	cases := map[string]struct {
		canary     *flaggerv1.Canary
		wantPhase  flaggerv1.CanaryPhase
		wantEvents int
	}{
		"progressing at 30":     {newCanary(atWeight(30)), flaggerv1.CanaryPhaseFailed, 1},
		"waiting for promotion": {newCanary(inPhase(flaggerv1.CanaryPhaseWaitingPromotion), atWeight(50)), flaggerv1.CanaryPhaseFailed, 1},
		"promoting":             {newCanary(inPhase(flaggerv1.CanaryPhasePromoting), atWeight(50)), flaggerv1.CanaryPhaseFailed, 1},
		"succeeded":             {newCanary(inPhase(flaggerv1.CanaryPhaseSucceeded)), flaggerv1.CanaryPhaseSucceeded, 0},
		"initialized":           {newCanary(inPhase(flaggerv1.CanaryPhaseInitialized)), flaggerv1.CanaryPhaseInitialized, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := Abort(tc.canary, t0, "Deployment podinfo was deleted")
			if d.Status.Phase != tc.wantPhase || len(d.Events) != tc.wantEvents {
				t.Errorf("phase %s and events %v; want %s and %d events", d.Status.Phase, d.Events, tc.wantPhase, tc.wantEvents)
			}
			if w := DesiredWeights(tc.canary, d.Status); tc.wantEvents > 0 && w != (Weights{Primary: 100}) {
				t.Errorf("an aborted release routes %+v, want everything on the primary", w)
			}
			if tc.wantEvents > 0 && d.Events[0].Message != "Rolling back podinfo.test Deployment podinfo was deleted" {
				t.Errorf("event %q", d.Events[0].Message)
			}
		})
	}
}

func ptrTime(t time.Time) *time.Time { return &t }
func ptrInt32(v int32) *int32        { return &v }

func TestHolderIsTheOldestCanaryThenTheFirstByName(t *testing.T) {
	at := func(name string, created time.Time) flaggerv1.Canary {
		c := newCanary()
		c.Name, c.CreationTimestamp = name, metav1.NewTime(created)
		return *c
	}
	cases := map[string]struct {
		canaries []flaggerv1.Canary
		want     string
	}{
		"the oldest wins":               {[]flaggerv1.Canary{at("b", t0.Add(time.Second)), at("a", t0.Add(time.Minute)), at("c", t0)}, "c"},
		"a tie goes to the first name":  {[]flaggerv1.Canary{at("b", t0), at("a", t0)}, "a"},
		"a single canary holds its own": {[]flaggerv1.Canary{at("x", t0)}, "x"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := Holder(tc.canaries); got == nil || got.Name != tc.want {
				t.Errorf("holder %v, want %s", got, tc.want)
			}
		})
	}
	if Holder(nil) != nil {
		t.Error("a holder among no canaries")
	}
}
