package workload

import (
	"fmt"
	"math"

	appsv1 "k8s.io/api/apps/v1"
)

// Readiness says whether a Deployment's rollout is complete enough.
type Readiness struct {
	Ready bool
	// Message explains a not-ready Deployment in words a user can act on.
	Message string
	// DeadlineExceeded is set when the Deployment controller reports that
	// the rollout exceeded its progress deadline.
	DeadlineExceeded bool
}

// DeploymentReadiness checks that the Deployment controller has seen the
// latest spec, that all replicas are updated, and that at least
// thresholdPercent of them are available.
func DeploymentReadiness(d *appsv1.Deployment, thresholdPercent int) Readiness {
	if d.Generation > d.Status.ObservedGeneration {
		return Readiness{Message: fmt.Sprintf("waiting for deployment %s to be observed by the Deployment controller", d.Name)}
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return Readiness{DeadlineExceeded: true, Message: fmt.Sprintf("deployment %s exceeded its progress deadline", d.Name)}
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	needed := int32(math.Ceil(float64(want) * float64(thresholdPercent) / 100))
	switch {
	case d.Status.UpdatedReplicas < want:
		return Readiness{Message: fmt.Sprintf("waiting for rollout of %s to finish: %d of %d updated replicas are available", d.Name, d.Status.UpdatedReplicas, want)}
	case d.Status.Replicas > d.Status.UpdatedReplicas:
		return Readiness{Message: fmt.Sprintf("waiting for rollout of %s to finish: %d old replicas are pending termination", d.Name, d.Status.Replicas-d.Status.UpdatedReplicas)}
	case d.Status.AvailableReplicas < needed:
		return Readiness{Message: fmt.Sprintf("waiting for rollout of %s to finish: %d of %d updated replicas are available", d.Name, d.Status.AvailableReplicas, want)}
	}
	return Readiness{Ready: true}
}
