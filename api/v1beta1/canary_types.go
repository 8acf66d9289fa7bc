package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Canary is the storage version. The v1alpha3 version is served from the same
// schema: both versions accept spec.analysis and its older name
// spec.canaryAnalysis, so the API server converts between them by relabelling
// apiVersion only (conversion strategy None).
//
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.status.canaryWeight`
// +kubebuilder:printcolumn:name="FailedChecks",type=integer,JSONPath=`.status.failedChecks`,priority=1
// +kubebuilder:printcolumn:name="Interval",type=string,JSONPath=`.spec.analysis.interval`,priority=1
// +kubebuilder:printcolumn:name="Mirror",type=boolean,JSONPath=`.spec.analysis.mirror`,priority=1
// +kubebuilder:printcolumn:name="StepWeight",type=integer,JSONPath=`.spec.analysis.stepWeight`,priority=1
// +kubebuilder:printcolumn:name="StepWeights",type=string,JSONPath=`.spec.analysis.stepWeights`,priority=1
// +kubebuilder:printcolumn:name="MaxWeight",type=integer,JSONPath=`.spec.analysis.maxWeight`,priority=1
// +kubebuilder:printcolumn:name="LastTransitionTime",type=string,JSONPath=`.status.lastTransitionTime`
type Canary struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the workload to release and how to analyse it.
	// +required
	Spec CanarySpec `json:"spec"`

	// status is written by the operator; it holds everything needed to resume
	// an analysis after a restart.
	// +optional
	Status CanaryStatus `json:"status,omitempty"`
}

// CanarySpec is the desired state of a Canary.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.analysis) && has(self.canaryAnalysis))",message="spec.analysis and spec.canaryAnalysis are the same setting under two names: set only one"
type CanarySpec struct {
	// provider is the mesh or ingress that shifts traffic; the operator's
	// --mesh-provider flag applies when empty.
	// +kubebuilder:validation:Enum=kubernetes;appmesh;appmesh:v1beta2;gatewayapi:v1
	// +optional
	Provider string `json:"provider,omitempty"`

	// metricsServer is the Prometheus address for this canary's built-in
	// metrics; the operator's --metrics-server flag applies when empty.
	// +kubebuilder:validation:XValidation:rule="isURL(self)",message="spec.metricsServer must be an absolute URL such as http://prometheus.monitoring:9090"
	// +optional
	MetricsServer string `json:"metricsServer,omitempty"`

	// targetRef is the workload under release.
	// +required
	TargetRef TargetReference `json:"targetRef"`

	// autoscalerRef is an autoscaler of the target; a primary copy of it is
	// created for the primary workload.
	// +optional
	AutoscalerRef *AutoscalerReference `json:"autoscalerRef,omitempty"`

	// ingressRef is the ingress used by ingress-controller providers.
	// +optional
	IngressRef *TargetReference `json:"ingressRef,omitempty"`

	// progressDeadlineSeconds is how long a canary may stay not ready before
	// it is rolled back; 600 when unset.
	// +kubebuilder:validation:Minimum=1
	// +optional
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`

	// skipAnalysis promotes a new revision without analysis.
	// +optional
	SkipAnalysis bool `json:"skipAnalysis,omitempty"`

	// revertOnDeletion routes all traffic back to the target workload and
	// restores it when the Canary is deleted.
	// +optional
	RevertOnDeletion bool `json:"revertOnDeletion,omitempty"`

	// suspend pauses the analysis: no step is taken while it is true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// service describes the ClusterIP services and the routing objects.
	// +required
	Service CanaryService `json:"service"`

	// analysis describes how a new revision is measured and promoted.
	// +optional
	Analysis *CanaryAnalysis `json:"analysis,omitempty"`

	// canaryAnalysis is the v1alpha3 name of analysis. It is read the same
	// way; new manifests should use analysis.
	// +optional
	CanaryAnalysis *CanaryAnalysis `json:"canaryAnalysis,omitempty"`
}

// TargetReference names an object in the Canary's namespace.
type TargetReference struct {
	// apiVersion of the referent, e.g. apps/v1.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// kind of the referent.
	// +kubebuilder:validation:Enum=Deployment;DaemonSet;Service;Ingress
	// +required
	Kind string `json:"kind"`

	// name of the referent.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// AutoscalerReference names the target's autoscaler.
type AutoscalerReference struct {
	// apiVersion of the autoscaler, e.g. autoscaling/v2.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// kind of the autoscaler.
	// +kubebuilder:validation:Enum=HorizontalPodAutoscaler
	// +required
	Kind string `json:"kind"`

	// name of the autoscaler.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// primaryScalerReplicas overrides the replica bounds of the primary copy.
	// +optional
	PrimaryScalerReplicas *ScalerReplicas `json:"primaryScalerReplicas,omitempty"`
}

// ScalerReplicas bounds an autoscaler.
//
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",message="primaryScalerReplicas.minReplicas must not exceed maxReplicas"
type ScalerReplicas struct {
	// minReplicas of the primary autoscaler.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// maxReplicas of the primary autoscaler.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxReplicas *int32 `json:"maxReplicas,omitempty"`
}

// CanaryStatus is the observed state of a Canary. Everything the operator
// needs to resume after a restart is here.
type CanaryStatus struct {
	// observedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase of the release.
	// +optional
	Phase CanaryPhase `json:"phase,omitempty"`

	// failedChecks counts failed analysis checks of the current revision.
	// +optional
	FailedChecks int `json:"failedChecks"`

	// canaryWeight is the share of traffic, in percent, routed to the canary.
	// +optional
	CanaryWeight int `json:"canaryWeight"`

	// iterations counts analysis runs of a blue/green or A/B release.
	// +optional
	Iterations int `json:"iterations"`

	// lastAppliedSpec is the hash of the target's pod template last seen.
	// +optional
	LastAppliedSpec string `json:"lastAppliedSpec,omitempty"`

	// lastPromotedSpec is the hash of the pod template last promoted.
	// +optional
	LastPromotedSpec string `json:"lastPromotedSpec,omitempty"`

	// trackedConfigs maps "configmap/NAME" and "secret/NAME" to the checksum
	// of the data last copied to the primary.
	// +optional
	TrackedConfigs *map[string]string `json:"trackedConfigs,omitempty"`

	// lastTransitionTime is when the phase last changed.
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`

	// provider whose routing objects carry the canary's traffic; when
	// spec.provider changes, the operator moves the weights to the new
	// provider and then removes the old provider's objects.
	// +optional
	Provider string `json:"provider,omitempty"`

	// lastAnalysis explains the last analysis run: each check's measured
	// value, threshold and verdict, and the decision taken.
	// +optional
	LastAnalysis *AnalysisRecord `json:"lastAnalysis,omitempty"`

	// conditions: Promoted (reason = phase, as in Flagger) and Ready, which
	// says whether the operator could reconcile the canary and why not.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AnalysisRecord is one analysis run, kept so that kubectl get canary -o
// yaml explains every halt with its numbers.
type AnalysisRecord struct {
	// time of the run; the next run is due one interval later.
	Time metav1.Time `json:"time"`
	// canaryWeight during the run.
	CanaryWeight int `json:"canaryWeight"`
	// passed is true when every check passed.
	Passed bool `json:"passed"`
	// checks are the run's webhook and metric results, in order.
	// +optional
	Checks []CheckResult `json:"checks,omitempty"`
	// decision taken, in the words of the event.
	// +optional
	Decision string `json:"decision,omitempty"`
}

// CheckResult is one webhook or metric check of an analysis run.
type CheckResult struct {
	// name of the metric or webhook.
	Name string `json:"name"`
	// kind is "metric" or the webhook type.
	Kind string `json:"kind"`
	// value measured, as text (metrics only).
	// +optional
	Value string `json:"value,omitempty"`
	// threshold the value was held to, e.g. ">= 99" or "<= 500".
	// +optional
	Threshold string `json:"threshold,omitempty"`
	// passed is the verdict.
	Passed bool `json:"passed"`
	// message explains a failure.
	// +optional
	Message string `json:"message,omitempty"`
}

// CanaryPhase is the phase of a release.
// +kubebuilder:validation:Enum="";Initializing;Initialized;Waiting;Progressing;WaitingPromotion;Promoting;Finalising;Succeeded;Failed;Terminating;Terminated
type CanaryPhase string

// The phases of a release, in Flagger's words.
const (
	CanaryPhaseInitializing     CanaryPhase = "Initializing"
	CanaryPhaseInitialized      CanaryPhase = "Initialized"
	CanaryPhaseWaiting          CanaryPhase = "Waiting"
	CanaryPhaseProgressing      CanaryPhase = "Progressing"
	CanaryPhaseWaitingPromotion CanaryPhase = "WaitingPromotion"
	CanaryPhasePromoting        CanaryPhase = "Promoting"
	CanaryPhaseFinalising       CanaryPhase = "Finalising"
	CanaryPhaseSucceeded        CanaryPhase = "Succeeded"
	CanaryPhaseFailed           CanaryPhase = "Failed"
	CanaryPhaseTerminating      CanaryPhase = "Terminating"
	CanaryPhaseTerminated       CanaryPhase = "Terminated"
)

// Condition types of a Canary.
const (
	// PromotedCondition mirrors Flagger's: its reason is the phase.
	PromotedCondition = "Promoted"
	// ReadyCondition is False while the operator cannot reconcile the canary.
	ReadyCondition = "Ready"
)

// +kubebuilder:object:root=true

// CanaryList is a list of Canaries.
type CanaryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Canary `json:"items"`
}

// CustomMetadata adds labels and annotations to a generated object.
type CustomMetadata struct {
	// labels to add.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// annotations to add.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

func init() {
	SchemeBuilder.Register(&Canary{}, &CanaryList{})
}
