package controller

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// A canary stored before the CRD refused other target kinds stalls with
// the words of the admission refusal.
func TestAnOldNonDeploymentTargetStallsWithTheAdmissionsWords(t *testing.T) {
	f := newRelease(inPhase(""))
	f.canary.Spec.TargetRef.Kind = "DaemonSet"
	e := newEnv(t, withObjects(f.canary, f.target))
	if _, err := e.reconcile(); !errors.Is(err, reconcile.TerminalError(nil)) {
		t.Fatalf("error %v, want a terminal error", err)
	}
	stalled := meta.FindStatusCondition(e.canary().Status.Conditions, flaggerv1.StalledCondition)
	want := "spec.targetRef.kind DaemonSet is not supported: Serin releases Deployments only"
	if stalled == nil || stalled.Status != metav1.ConditionTrue || stalled.Reason != "UnsupportedTarget" || stalled.Message != want {
		t.Errorf("Stalled %+v; want True, UnsupportedTarget, %q", stalled, want)
	}
}

// canaryReadyThreshold and primaryReadyThreshold are the share of each
// workload's replicas that must be available for the analysis to step:
// with one of two replicas available, 50 steps and 100 holds.
func TestReadyThresholdsDecideWhetherTheAnalysisSteps(t *testing.T) {
	cases := map[string]struct {
		primary    bool // the primary has one of two replicas available, else the canary
		threshold  int  // that workload's ready threshold
		wantWeight int  // the canary weight after the step (20 before)
	}{
		"a canary half ready with canaryReadyThreshold 50 steps":    {false, 50, 30},
		"a canary half ready with canaryReadyThreshold 100 holds":   {false, 100, 20},
		"a primary half ready with primaryReadyThreshold 50 steps":  {true, 50, 30},
		"a primary half ready with primaryReadyThreshold 100 holds": {true, 100, 20},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newRelease(atWeight(20))
			threshold := tc.threshold
			half := f.target
			f.canary.Spec.Analysis.CanaryReadyThreshold = &threshold
			if tc.primary {
				half = f.primary
				f.canary.Spec.Analysis.CanaryReadyThreshold = nil
				f.canary.Spec.Analysis.PrimaryReadyThreshold = &threshold
			}
			half.Status.AvailableReplicas, half.Status.ReadyReplicas = 1, 1
			e := newEnv(t, withObjects(f.objects()...))
			e.routed(80, 20)
			if _, err := e.reconcile(); err != nil {
				t.Fatal(err)
			}
			if c := e.canary(); c.Status.CanaryWeight != tc.wantWeight || c.Status.Phase != flaggerv1.CanaryPhaseProgressing {
				t.Errorf("weight %d, phase %s; want %d, Progressing", c.Status.CanaryWeight, c.Status.Phase, tc.wantWeight)
			}
		})
	}
}
