package workload

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDeploymentReadiness(t *testing.T) {
	cases := map[string]struct {
		generation, observed      int64
		replicas                  int32
		updated, total, available int32
		threshold                 int // percent of replicas that must be available
		deadline                  bool
		wantReady, wantDeadline   bool
		wantMessage               string
	}{
		"all available":                  {generation: 2, observed: 2, replicas: 2, updated: 2, total: 2, available: 2, threshold: 100, wantReady: true},
		"not observed yet":               {generation: 3, observed: 2, replicas: 2, updated: 2, total: 2, available: 2, threshold: 100, wantMessage: "to be observed"},
		"rollout not finished":           {generation: 2, observed: 2, replicas: 3, updated: 1, total: 3, available: 3, threshold: 100, wantMessage: "1 of 3 updated replicas"},
		"old replicas terminating":       {generation: 2, observed: 2, replicas: 2, updated: 2, total: 3, available: 2, threshold: 100, wantMessage: "1 old replicas are pending termination"},
		"too few available":              {generation: 2, observed: 2, replicas: 4, updated: 4, total: 4, available: 3, threshold: 100, wantMessage: "3 of 4 updated replicas are available"},
		"enough available at 75 percent": {generation: 2, observed: 2, replicas: 4, updated: 4, total: 4, available: 3, threshold: 75, wantReady: true},
		"progress deadline exceeded":     {generation: 2, observed: 2, replicas: 2, updated: 2, total: 2, available: 0, threshold: 100, deadline: true, wantDeadline: true, wantMessage: "exceeded its progress deadline"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Generation: tc.generation},
				Spec:       appsv1.DeploymentSpec{Replicas: &tc.replicas},
				Status: appsv1.DeploymentStatus{ObservedGeneration: tc.observed, Replicas: tc.total,
					UpdatedReplicas: tc.updated, AvailableReplicas: tc.available},
			}
			if tc.deadline {
				d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded"}}
			}
			got := DeploymentReadiness(d, tc.threshold)
			if got.Ready != tc.wantReady || got.DeadlineExceeded != tc.wantDeadline || !strings.Contains(got.Message, tc.wantMessage) {
				t.Errorf("DeploymentReadiness = %+v, want ready=%v deadline=%v message containing %q", got, tc.wantReady, tc.wantDeadline, tc.wantMessage)
			}
		})
	}
}
