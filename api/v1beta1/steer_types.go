package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Levers are requests a person or a tool makes of a running release by
// setting an annotation on the Canary. Flagger has no such API, so they
// live under Serin's own prefix and leave the flagger.app schema as it is.
//
// promote, abort and retry are one-shot: each new value (a request id of
// the requester's choosing) asks once, and the operator records the id it
// handled in status.levers, so a request is acted on exactly once, also
// across operator restarts, and setting the same id again does nothing.
// pause is a state: the release is held while the annotation is present
// and resumes when it is removed.
const (
	// PromoteAnnotation asks to promote the release now: the remaining
	// steps are skipped and the revision goes through the promotion path.
	PromoteAnnotation = "serin.dev/promote"
	// AbortAnnotation asks to roll the release back now.
	AbortAnnotation = "serin.dev/abort"
	// RetryAnnotation asks to run the analysis of a failed revision again,
	// even when the target's pod template did not change.
	RetryAnnotation = "serin.dev/retry"
	// PauseAnnotation holds the release where it is while present.
	PauseAnnotation = "serin.dev/pause"
)

// MaxLeverIDLength bounds a lever's request id (the annotation's value),
// so that status.levers stays small whatever a tenant writes.
const MaxLeverIDLength = 63

// HistoryLimit is how many records status.history keeps, the oldest
// dropped first. At about 300 bytes a record (two metrics and a webhook),
// the history adds at most about 10 KB to a Canary.
const HistoryLimit = 30

// LeverStatus records the lever requests the operator handled.
type LeverStatus struct {
	// promote is the last promote request handled.
	// +optional
	Promote *LeverRecord `json:"promote,omitempty"`
	// abort is the last abort request handled.
	// +optional
	Abort *LeverRecord `json:"abort,omitempty"`
	// retry is the last retry request handled.
	// +optional
	Retry *LeverRecord `json:"retry,omitempty"`
	// pause is the pause in force; absent when the release is not paused.
	// +optional
	Pause *LeverRecord `json:"pause,omitempty"`
}

// LeverRecord is one handled lever request.
type LeverRecord struct {
	// id of the request: the annotation's value.
	// +kubebuilder:validation:MaxLength=63
	ID string `json:"id"`
	// requestedBy is the field manager that set the annotation, as the
	// Canary's managedFields name it (kubectl-serin:jane,
	// serin-dashboard:jane, kubectl-annotate, kustomize-controller…).
	// Clients choose that name: the API server's audit log is the
	// authoritative record of who wrote the annotation.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	RequestedBy string `json:"requestedBy,omitempty"`
	// time the operator handled the request.
	Time metav1.Time `json:"time"`
	// applied is true when the lever acted; false when the release was in
	// a phase where it cannot (message says why).
	Applied bool `json:"applied"`
	// message says what the operator did, or why it did nothing.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Message string `json:"message,omitempty"`
}

// HistoryRecord is one step of a release as status.history keeps it: an
// analysis run with its checks, or a change of phase or weight (a lever,
// the promotion, a rollback).
type HistoryRecord struct {
	// time of the step.
	Time metav1.Time `json:"time"`
	// revision is the release's pod template hash (lastAppliedSpec).
	// +optional
	Revision string `json:"revision,omitempty"`
	// phase after the step.
	Phase CanaryPhase `json:"phase"`
	// canaryWeight after the step.
	CanaryWeight int `json:"canaryWeight"`
	// failedChecks after the step.
	// +optional
	FailedChecks int `json:"failedChecks,omitempty"`
	// iterations after the step (blue/green and A/B releases).
	// +optional
	Iterations int `json:"iterations,omitempty"`
	// passed is true when the step ran an analysis and every check passed.
	// +optional
	Passed bool `json:"passed,omitempty"`
	// checks of the analysis run, when the step ran one; a passed check's
	// message is left out.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Checks []CheckResult `json:"checks,omitempty"`
	// decision taken, in the words of the events.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Decision string `json:"decision,omitempty"`
}
