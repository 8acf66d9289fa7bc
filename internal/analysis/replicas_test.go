package analysis

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/workload"
)

func TestDecideScaleDownScalesAnIdleTargetOnceAndThenLeavesItToTheGitOpsTool(t *testing.T) {
	transition := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	flux := func(at time.Time) *workload.FieldWriter {
		return &workload.FieldWriter{Manager: "kustomize-controller", Operation: "Apply", Time: at}
	}
	cases := map[string]struct {
		phase        flaggerv1.CanaryPhase
		replicas     int32                 // the target's spec.replicas
		writer       *workload.FieldWriter // latest other owner of spec.replicas
		wantScale    bool
		wantConflict bool
	}{
		"a target at zero needs nothing":                             {phase: flaggerv1.CanaryPhaseSucceeded, replicas: 0, writer: flux(transition.Add(time.Minute))},
		"nobody else owns the replicas: scale down":                  {phase: flaggerv1.CanaryPhaseSucceeded, replicas: 1, wantScale: true},
		"the applier wrote them before the phase began: scale down":  {phase: flaggerv1.CanaryPhaseFailed, replicas: 2, writer: flux(transition.Add(-time.Minute)), wantScale: true},
		"a write in the transition's second is not yet a reset":      {phase: flaggerv1.CanaryPhaseInitialized, replicas: 2, writer: flux(transition), wantScale: true},
		"the applier put them back after the scale-down: leave them": {phase: flaggerv1.CanaryPhaseSucceeded, replicas: 2, writer: flux(transition.Add(time.Second)), wantConflict: true},
		"after initialization too":                                   {phase: flaggerv1.CanaryPhaseInitialized, replicas: 2, writer: flux(transition.Add(time.Minute)), wantConflict: true},
		"after a rollback too":                                       {phase: flaggerv1.CanaryPhaseFailed, replicas: 2, writer: flux(transition.Add(time.Minute)), wantConflict: true},
		"a finishing release always scales the canary down":          {phase: flaggerv1.CanaryPhaseFinalising, replicas: 2, writer: flux(transition.Add(time.Minute)), wantScale: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := flaggerv1.CanaryStatus{Phase: tc.phase, LastTransitionTime: metav1.NewTime(transition)}
			got := DecideScaleDown(s, "podinfo", tc.replicas, tc.writer)
			if got.Scale != tc.wantScale || (got.Conflict != "") != tc.wantConflict {
				t.Fatalf("DecideScaleDown = %+v, want scale %v, conflict %v", got, tc.wantScale, tc.wantConflict)
			}
			if tc.wantConflict {
				for _, part := range []string{"kustomize-controller", "Deployment podinfo to 2", "remove replicas from the Deployment in git", "HorizontalPodAutoscaler"} {
					if !strings.Contains(got.Conflict, part) {
						t.Errorf("conflict %q does not say %q", got.Conflict, part)
					}
				}
			}
		})
	}
}
