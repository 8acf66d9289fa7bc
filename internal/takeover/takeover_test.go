package takeover

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
)

var (
	now     = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	stepped = metav1.NewTime(now.Add(-4 * time.Second))
	target  = analysis.Revision{TemplateHash: "serin-hash", Configs: map[string]string{"configmap/podinfo-config": "serin-sum"}}
)

// flaggerStatus is a status as Flagger writes it: its own hashes and
// checksums, a Promoted condition, no provider.
func flaggerStatus(phase flaggerv1.CanaryPhase, weight, iterations, failed int) flaggerv1.CanaryStatus {
	return flaggerv1.CanaryStatus{
		Phase: phase, CanaryWeight: weight, Iterations: iterations, FailedChecks: failed,
		LastAppliedSpec: "5f7b8d9c4", LastPromotedSpec: "6c8d5b4f7",
		TrackedConfigs:     &map[string]string{"configmap/podinfo-config": "8c1e4d5a2b3f6e7d"},
		LastTransitionTime: stepped,
		Conditions: []metav1.Condition{{Type: flaggerv1.PromotedCondition, Status: metav1.ConditionUnknown, Reason: string(phase),
			Message: "Flagger's message", LastTransitionTime: stepped}},
	}
}

func canary(s flaggerv1.CanaryStatus) *flaggerv1.Canary {
	return &flaggerv1.Canary{ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test", Generation: 3}, Status: s}
}

func TestDecideCarriesOnFromWhatFlaggerLeft(t *testing.T) {
	cases := map[string]struct {
		status            flaggerv1.CanaryStatus // as found
		primaryRunsTarget bool                   // what the cluster shows
		action            Action
		applied, promoted string // the migrated hashes
		trackedConfigs    bool   // whether the target's checksums are tracked
		weight            int    // canaryWeight after the takeover
		resumedAt         *metav1.Time
	}{
		"a promoted canary whose primary runs the target stays promoted": {
			status: flaggerStatus(flaggerv1.CanaryPhaseSucceeded, 0, 0, 0), primaryRunsTarget: true,
			action: AdoptPromoted, applied: "serin-hash", promoted: "serin-hash", trackedConfigs: true,
		},
		"an initialized canary whose primary runs the target stays initialized": {
			status: flaggerStatus(flaggerv1.CanaryPhaseInitialized, 0, 0, 0), primaryRunsTarget: true,
			action: AdoptPromoted, applied: "serin-hash", promoted: "serin-hash", trackedConfigs: true,
		},
		"a promoted canary whose target changed since is released": {
			status: flaggerStatus(flaggerv1.CanaryPhaseSucceeded, 0, 0, 0), primaryRunsTarget: false,
			action: NewRevision, applied: "", promoted: "",
		},
		"a canary waiting for rollout approval still waits for it": {
			status: flaggerStatus(flaggerv1.CanaryPhaseWaiting, 0, 0, 0), primaryRunsTarget: false,
			action: NewRevision, applied: "", promoted: "",
		},
		"a failed canary stays failed with the target as the failed revision": {
			status: flaggerStatus(flaggerv1.CanaryPhaseFailed, 0, 0, 5), primaryRunsTarget: false,
			action: AdoptFailed, applied: "serin-hash", promoted: "", trackedConfigs: true,
		},
		"a canary at weight 20 continues from 20, its next run one interval after Flagger's last step": {
			status: flaggerStatus(flaggerv1.CanaryPhaseProgressing, 20, 0, 1),
			action: Continue, applied: "serin-hash", trackedConfigs: true, weight: 20, resumedAt: &stepped,
		},
		"a canary that made no step yet starts its analysis with the pre-rollout hooks": {
			status: flaggerStatus(flaggerv1.CanaryPhaseProgressing, 0, 0, 0),
			action: Continue, applied: "serin-hash", trackedConfigs: true,
		},
		"a blue/green canary continues from its iteration": {
			status: flaggerStatus(flaggerv1.CanaryPhaseProgressing, 0, 3, 0),
			action: Continue, applied: "serin-hash", trackedConfigs: true, resumedAt: &stepped,
		},
		"a canary waiting for promotion approval keeps its weight": {
			status: flaggerStatus(flaggerv1.CanaryPhaseWaitingPromotion, 50, 0, 0),
			action: Continue, applied: "serin-hash", trackedConfigs: true, weight: 50, resumedAt: &stepped,
		},
		"a canary being promoted finishes its promotion": {
			status: flaggerStatus(flaggerv1.CanaryPhasePromoting, 50, 0, 0), primaryRunsTarget: true,
			action: Continue, applied: "serin-hash", trackedConfigs: true, weight: 50, resumedAt: &stepped,
		},
		"a status Serin wrote is left alone": {
			status: func() flaggerv1.CanaryStatus {
				s := flaggerStatus(flaggerv1.CanaryPhaseSucceeded, 0, 0, 0)
				s.Provider = "gatewayapi:v1"
				return s
			}(), primaryRunsTarget: true,
			action: None, applied: "5f7b8d9c4", promoted: "6c8d5b4f7", trackedConfigs: false,
		},
		"a canary Flagger was still initializing is initialized as any new one": {
			status: flaggerStatus(flaggerv1.CanaryPhaseInitializing, 0, 0, 0),
			action: None, applied: "5f7b8d9c4", promoted: "6c8d5b4f7",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := canary(tc.status)
			before := c.DeepCopy()
			d := Decide(c, Observation{Now: now, Target: target, PrimaryRunsTarget: tc.primaryRunsTarget})
			if d.Action != tc.action {
				t.Fatalf("action %q, want %q (%s)", d.Action, tc.action, d.Message)
			}
			s := d.Status
			if s.LastAppliedSpec != tc.applied || s.LastPromotedSpec != tc.promoted {
				t.Errorf("lastAppliedSpec %q, lastPromotedSpec %q; want %q, %q", s.LastAppliedSpec, s.LastPromotedSpec, tc.applied, tc.promoted)
			}
			if got := s.TrackedConfigs != nil && (*s.TrackedConfigs)["configmap/podinfo-config"] == "serin-sum"; got != tc.trackedConfigs {
				t.Errorf("trackedConfigs %v: want the target's checksums %v", s.TrackedConfigs, tc.trackedConfigs)
			}
			if s.Phase != tc.status.Phase || s.CanaryWeight != tc.weight || s.FailedChecks != tc.status.FailedChecks {
				t.Errorf("phase %s weight %d failedChecks %d; want %s %d %d", s.Phase, s.CanaryWeight, s.FailedChecks, tc.status.Phase, tc.weight, tc.status.FailedChecks)
			}
			switch {
			case tc.resumedAt == nil && s.LastAnalysis != nil:
				t.Errorf("lastAnalysis %+v, want none", s.LastAnalysis)
			case tc.resumedAt != nil && (s.LastAnalysis == nil || !s.LastAnalysis.Time.Equal(tc.resumedAt) || s.LastAnalysis.CanaryWeight != tc.weight):
				t.Errorf("lastAnalysis %+v, want a run at %s at weight %d", s.LastAnalysis, tc.resumedAt, tc.weight)
			}
			cond := meta.FindStatusCondition(s.Conditions, Condition)
			if tc.action == None {
				if cond != nil {
					t.Errorf("condition %+v set without a takeover", cond)
				}
			} else if cond == nil || cond.Reason != string(tc.action) || cond.Message != d.Message || !strings.HasPrefix(d.Message, "Adopted from Flagger: ") {
				t.Errorf("condition %+v, want reason %s and message %q", cond, tc.action, d.Message)
			}
			if p := meta.FindStatusCondition(s.Conditions, flaggerv1.PromotedCondition); p == nil || p.Message != "Flagger's message" {
				t.Errorf("Flagger's Promoted condition was not kept: %+v", s.Conditions)
			}
			if !equalStatus(c.Status, before.Status) {
				t.Error("Decide modified the canary")
			}
		})
	}
}

// A status once migrated is Serin's: a second look changes nothing, so
// the takeover happens once.
func TestAMigratedStatusIsNotTakenOverAgain(t *testing.T) {
	d := Decide(canary(flaggerStatus(flaggerv1.CanaryPhaseSucceeded, 0, 0, 0)), Observation{Now: now, Provider: "gatewayapi:v1", Target: target, PrimaryRunsTarget: true})
	if d.Status.Provider != "gatewayapi:v1" {
		t.Fatalf("status.provider %q, want the canary's provider recorded", d.Status.Provider)
	}
	again := Decide(canary(d.Status), Observation{Now: now.Add(time.Minute), Provider: "gatewayapi:v1", Target: target, PrimaryRunsTarget: false})
	if again.Action != None || !equalStatus(again.Status, d.Status) {
		t.Errorf("second decision %q changed the status", again.Action)
	}
}

func equalStatus(a, b flaggerv1.CanaryStatus) bool { return equality.Semantic.DeepEqual(a, b) }
