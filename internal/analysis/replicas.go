package analysis

import (
	"fmt"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/workload"
)

// ScaleDown is what to do with a target that should have no replicas.
type ScaleDown struct {
	// Scale is true when the operator should set the replicas to zero.
	Scale bool
	// Conflict, when not empty, says who keeps setting the replicas and
	// what the user can do about it.
	Conflict string
}

// DecideScaleDown keeps the operator out of a replica fight with a GitOps
// tool that applies the target's spec.replicas from git (Flux re-applies
// it on every reconcile, Argo CD on every self-heal). The operator scales
// an idle target (Initialized, Succeeded, Failed) to zero once, when it
// enters the phase; when another field manager has set the replicas since
// then, scaling down again would only start the next round, so the
// operator leaves them (no traffic goes to an idle target) and reports who
// wrote them and the fix. While a release is finishing (Finalising) the
// canary is always scaled down, since the release waits for it.
//
// replicas is the target's spec.replicas, writer the latest field manager
// other than the operator owning it (nil if none).
func DecideScaleDown(s flaggerv1.CanaryStatus, target string, replicas int32, writer *workload.FieldWriter) ScaleDown {
	if replicas == 0 {
		return ScaleDown{}
	}
	idle := s.Phase == flaggerv1.CanaryPhaseInitialized || s.Phase == flaggerv1.CanaryPhaseSucceeded || s.Phase == flaggerv1.CanaryPhaseFailed
	// Times in managedFields have whole seconds, like the transition time:
	// a write in the same second as the transition is not told apart from
	// one before it, and costs one more scale-down at most.
	if !idle || writer == nil || !writer.Time.After(s.LastTransitionTime.Time) {
		return ScaleDown{Scale: true}
	}
	return ScaleDown{Conflict: fmt.Sprintf("%s set spec.replicas of Deployment %s to %d after the operator scaled it to 0 (%s phase); "+
		"the operator leaves it there, with no traffic routed to it, rather than fight: remove replicas from the Deployment in git "+
		"(the primary keeps its own), or let a HorizontalPodAutoscaler named in spec.autoscalerRef scale it",
		writer.Manager, target, replicas, s.Phase)}
}
