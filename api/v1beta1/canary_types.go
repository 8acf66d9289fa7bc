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
// +kubebuilder:validation:XValidation:rule="has(self.analysis) || has(self.canaryAnalysis)",message="spec.analysis is required (spec.canaryAnalysis in flagger.app/v1alpha3): it says how a new revision is measured and promoted"
// +kubebuilder:validation:XValidation:rule="!has(self.canaryAnalysis) || has(self.canaryAnalysis.maxWeight) || !has(self.canaryAnalysis.stepWeight) || self.canaryAnalysis.stepWeight <= 50",fieldPath=".canaryAnalysis.stepWeight",message="stepWeight must not exceed 50, the maxWeight of a spec.canaryAnalysis without one: lower stepWeight or set maxWeight"
// +kubebuilder:validation:XValidation:rule="has(self.service.name) || (size(self.targetRef.name) <= 55 && self.targetRef.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$'))",fieldPath=".targetRef.name",message="without spec.service.name, spec.targetRef.name names the Services <name>, <name>-primary and <name>-canary, so it must be a DNS label (lower-case letters, digits and '-', starting with a letter) of at most 55 characters; or set spec.service.name"
// +kubebuilder:validation:XValidation:rule="size(self.targetRef.name) <= 245",fieldPath=".targetRef.name",message="spec.targetRef.name must be at most 245 characters: the primary Deployment is named <name>-primary"
//
// Fields some providers cannot honour are refused for those providers, one
// rule per field; internal/router.FieldRules holds the same rules (for a
// provider from --mesh-provider) and a test keeps the two equal.
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes']) || !(has(self.service.timeout))",messageExpression="'spec.service.timeout is not supported by provider ' + self.provider + ': the kubernetes provider writes no routes, only ClusterIP Services, which do not time requests out'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes', 'appmesh', 'appmesh:v1beta2', 'istio']) || !(has(self.service.backendTimeout))",messageExpression="'spec.service.backendTimeout is not supported by provider ' + self.provider + ': it is the backend request timeout of a Gateway API HTTPRoute, which only providers gatewayapi:v1 and linkerd write; use spec.service.timeout'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes', 'gatewayapi:v1']) || !(has(self.service.retries))",messageExpression="'spec.service.retries is not supported by provider ' + self.provider + ': only providers appmesh, appmesh:v1beta2, istio and linkerd retry requests (the standard Gateway API HTTPRoute has no retry policy)'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes']) || !(has(self.service.match))",messageExpression="'spec.service.match is not supported by provider ' + self.provider + ': the kubernetes provider writes no routes, only ClusterIP Services, which do not look at requests'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['appmesh', 'appmesh:v1beta2']) || !(has(self.service.match) && (size(self.service.match) > 1 || !self.service.match.all(m, has(m.uri) && has(m.uri.prefix) && !has(m.method) && !has(m.headers) && !has(m.queryParams) && !has(m.sourceLabels))))",messageExpression="'spec.service.match is not supported by provider ' + self.provider + ': App Mesh routes take one path prefix from it: set a single entry with uri.prefix only'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['appmesh', 'appmesh:v1beta2']) || !((has(self.analysis) && (has(self.analysis.match) && self.analysis.match.exists(m, has(m.uri) && !has(m.uri.prefix)))) || (has(self.canaryAnalysis) && (has(self.canaryAnalysis.match) && self.canaryAnalysis.match.exists(m, has(m.uri) && !has(m.uri.prefix)))))",messageExpression="(has(self.analysis) ? 'spec.analysis' : 'spec.canaryAnalysis') + '.match[].uri is not supported by provider ' + self.provider + ': App Mesh routes match a path by prefix only'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['appmesh', 'appmesh:v1beta2']) || !((has(self.analysis) && (has(self.analysis.match) && self.analysis.match.exists(m, has(m.method) && !has(m.method.exact)))) || (has(self.canaryAnalysis) && (has(self.canaryAnalysis.match) && self.canaryAnalysis.match.exists(m, has(m.method) && !has(m.method.exact)))))",messageExpression="(has(self.analysis) ? 'spec.analysis' : 'spec.canaryAnalysis') + '.match[].method is not supported by provider ' + self.provider + ': App Mesh routes match a method exactly only'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['gatewayapi:v1', 'linkerd']) || !((has(self.service.match) && self.service.match.exists(m, has(m.method) && !has(m.method.exact))) || (has(self.analysis) && (has(self.analysis.match) && self.analysis.match.exists(m, has(m.method) && !has(m.method.exact)))) || (has(self.canaryAnalysis) && (has(self.canaryAnalysis.match) && self.canaryAnalysis.match.exists(m, has(m.method) && !has(m.method.exact)))))",messageExpression="'match[].method is not supported by provider ' + self.provider + ': Gateway API routes match a method exactly only: use method.exact'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['appmesh', 'appmesh:v1beta2']) || !((has(self.service.match) && self.service.match.exists(m, has(m.queryParams))) || (has(self.analysis) && (has(self.analysis.match) && self.analysis.match.exists(m, has(m.queryParams)))) || (has(self.canaryAnalysis) && (has(self.canaryAnalysis.match) && self.canaryAnalysis.match.exists(m, has(m.queryParams)))))",messageExpression="'match[].queryParams is not supported by provider ' + self.provider + ': App Mesh routes match paths, methods and headers, not query parameters'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes', 'appmesh', 'appmesh:v1beta2', 'gatewayapi:v1', 'linkerd']) || !((has(self.service.match) && self.service.match.exists(m, has(m.sourceLabels))) || (has(self.analysis) && (has(self.analysis.match) && self.analysis.match.exists(m, has(m.sourceLabels)))) || (has(self.canaryAnalysis) && (has(self.canaryAnalysis.match) && self.canaryAnalysis.match.exists(m, has(m.sourceLabels)))))",messageExpression="'match[].sourceLabels is not supported by provider ' + self.provider + ': only Istio routes (provider istio) match the labels of the calling workload'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes', 'appmesh', 'appmesh:v1beta2', 'gatewayapi:v1', 'linkerd']) || !(has(self.service.gateways))",messageExpression="'spec.service.gateways is not supported by provider ' + self.provider + ': it names Istio gateways, which only provider istio binds its route to'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes', 'appmesh', 'appmesh:v1beta2', 'istio', 'linkerd']) || !(has(self.service.gatewayRefs))",messageExpression="'spec.service.gatewayRefs is not supported by provider ' + self.provider + ': it names Gateway API gateways, which only provider gatewayapi:v1 attaches its HTTPRoute to'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes', 'linkerd']) || !(has(self.service.hosts))",messageExpression="'spec.service.hosts is not supported by provider ' + self.provider + ': the kubernetes and linkerd providers serve calls to the apex Service, whatever the host name'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes', 'appmesh', 'appmesh:v1beta2', 'gatewayapi:v1', 'linkerd']) || !(has(self.service.trafficPolicy))",messageExpression="'spec.service.trafficPolicy is not supported by provider ' + self.provider + ': it is an Istio DestinationRule setting (provider istio)'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes', 'appmesh:v1beta2', 'gatewayapi:v1', 'istio', 'linkerd']) || !(has(self.service.meshName))",messageExpression="'spec.service.meshName is not supported by provider ' + self.provider + ': it names the mesh of App Mesh v1beta1 objects (provider appmesh); App Mesh v1beta2 picks the mesh by the labels of the namespace'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes', 'gatewayapi:v1', 'istio', 'linkerd']) || !(has(self.service.backends))",messageExpression="'spec.service.backends is not supported by provider ' + self.provider + ': they are the backends of App Mesh virtual nodes (providers appmesh and appmesh:v1beta2)'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes', 'appmesh', 'appmesh:v1beta2']) || !(has(self.service.headers))",messageExpression="'spec.service.headers is not supported by provider ' + self.provider + ': only providers gatewayapi:v1, istio and linkerd change request and response headers'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes', 'appmesh', 'appmesh:v1beta2', 'linkerd']) || !(has(self.service.corsPolicy))",messageExpression="'spec.service.corsPolicy is not supported by provider ' + self.provider + ': only providers gatewayapi:v1 and istio put a CORS policy on their routes'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes', 'appmesh', 'appmesh:v1beta2', 'linkerd']) || !(has(self.service.rewrite))",messageExpression="'spec.service.rewrite is not supported by provider ' + self.provider + ': only providers gatewayapi:v1 and istio rewrite URLs'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['istio']) || !(has(self.service.rewrite) && has(self.service.rewrite.type))",messageExpression="'spec.service.rewrite.type is not supported by provider ' + self.provider + ': Istio replaces the matched prefix of a prefix match and the whole path otherwise; type chooses between them on Gateway API routes (provider gatewayapi:v1)'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes', 'appmesh', 'appmesh:v1beta2', 'linkerd']) || !((has(self.analysis) && (has(self.analysis.mirror) && self.analysis.mirror)) || (has(self.canaryAnalysis) && (has(self.canaryAnalysis.mirror) && self.canaryAnalysis.mirror)))",messageExpression="(has(self.analysis) ? 'spec.analysis' : 'spec.canaryAnalysis') + '.mirror is not supported by provider ' + self.provider + ': only providers gatewayapi:v1 and istio mirror requests'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes', 'appmesh', 'appmesh:v1beta2', 'linkerd']) || !((has(self.analysis) && (has(self.analysis.sessionAffinity))) || (has(self.canaryAnalysis) && (has(self.canaryAnalysis.sessionAffinity))))",messageExpression="(has(self.analysis) ? 'spec.analysis' : 'spec.canaryAnalysis') + '.sessionAffinity is not supported by provider ' + self.provider + ': only providers gatewayapi:v1 and istio set affinity cookies and route by them'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes']) || !((has(self.analysis) && (has(self.analysis.match))) || (has(self.canaryAnalysis) && (has(self.canaryAnalysis.match))))",messageExpression="(has(self.analysis) ? 'spec.analysis' : 'spec.canaryAnalysis') + '.match is not supported by provider ' + self.provider + ': ClusterIP Services cannot route requests by their content: use iterations without match (blue/green)'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes']) || !((has(self.analysis) && (has(self.analysis.judge))) || (has(self.canaryAnalysis) && (has(self.canaryAnalysis.judge))))",messageExpression="(has(self.analysis) ? 'spec.analysis' : 'spec.canaryAnalysis') + '.judge is not supported by provider ' + self.provider + ': it does not split traffic between the canary and the primary, so there is nothing to compare'"
// +kubebuilder:validation:XValidation:rule="!has(self.provider) || !(self.provider in ['kubernetes']) || !((has(self.analysis) && (has(self.analysis.stepWeight) || has(self.analysis.stepWeights))) || (has(self.canaryAnalysis) && (has(self.canaryAnalysis.stepWeight) || has(self.canaryAnalysis.stepWeights))))",messageExpression="(has(self.analysis) ? 'spec.analysis' : 'spec.canaryAnalysis') + '.stepWeight and stepWeights are not supported by provider ' + self.provider + ': ClusterIP Services cannot split traffic by weight: use iterations (blue/green)'"
type CanarySpec struct {
	// provider is the mesh or ingress that shifts traffic; the operator's
	// --mesh-provider flag applies when empty.
	// +kubebuilder:validation:Enum=kubernetes;appmesh;appmesh:v1beta2;gatewayapi:v1;istio;linkerd
	// +optional
	Provider string `json:"provider,omitempty"`

	// metricsServer is the Prometheus address for this canary's built-in
	// metrics; the operator's --metrics-server flag applies when empty.
	// No credentials are ever sent to it.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="spec.metricsServer must be an absolute http or https URL such as http://prometheus.monitoring:9090"
	// +optional
	MetricsServer string `json:"metricsServer,omitempty"`

	// targetRef is the workload under release. Serin releases Deployments
	// only: Flagger's DaemonSet targets are refused here rather than
	// accepted and left unreleased.
	// +kubebuilder:validation:XValidation:rule="self.kind == 'Deployment'",messageExpression="'spec.targetRef.kind ' + self.kind + ' is not supported: Serin releases Deployments only'"
	// +required
	TargetRef TargetReference `json:"targetRef"`

	// autoscalerRef is an autoscaler of the target; a primary copy of it is
	// created for the primary workload.
	// +optional
	AutoscalerRef *AutoscalerReference `json:"autoscalerRef,omitempty"`

	// ingressRef names an ingress. Serin has no ingress-controller
	// provider: its name is the {{ ingress }} variable of metric templates.
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

	// levers records the last lever request (serin.dev/promote, abort,
	// retry annotations) the operator handled, and the pause in force.
	// +optional
	Levers *LeverStatus `json:"levers,omitempty"`

	// history keeps the last steps of the recent releases, oldest first:
	// each analysis run with its checks, and each change of phase or
	// weight, at most 30 records (HistoryLimit).
	// +kubebuilder:validation:MaxItems=30
	// +optional
	History []HistoryRecord `json:"history,omitempty"`

	// lastAnalysis explains the last analysis run: each check's measured
	// value, threshold and verdict, and the decision taken.
	// +optional
	LastAnalysis *AnalysisRecord `json:"lastAnalysis,omitempty"`

	// canaryNotReadySince is when the canary workload was first seen not
	// ready during the current analysis; it is rolled back once it stays
	// not ready for progressDeadlineSeconds. Cleared when the canary is
	// ready again and when a release starts or ends.
	// +optional
	CanaryNotReadySince *metav1.Time `json:"canaryNotReadySince,omitempty"`

	// pendingPostRollout is the checksum of the ended release whose
	// post-rollout webhooks are still to be called. It is set with the
	// release's final phase and cleared once the webhooks were called,
	// after all traffic was routed to the primary, so the webhooks are
	// called at least once even across an operator restart.
	// +optional
	PendingPostRollout string `json:"pendingPostRollout,omitempty"`

	// primaryReplicas is the primary Deployment's spec.replicas last seen;
	// a primary deleted by hand is recreated with it.
	// +optional
	PrimaryReplicas *int32 `json:"primaryReplicas,omitempty"`

	// judge is the statistical judge's evidence for the current revision
	// (spec.analysis.judge only).
	// +optional
	Judge *JudgeStatus `json:"judge,omitempty"`

	// conditions: Promoted (reason = phase, as in Flagger); Ready, which
	// says whether the operator could reconcile the canary and why not;
	// and, kstatus-style, Reconciling while a release or initialization is
	// under way and Stalled while the configuration keeps the operator
	// from making progress.
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
	// +kubebuilder:validation:MaxItems=64
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

	// The fields below explain a comparison (kind "comparison") of the
	// canary with the primary, over all looks of the release so far.

	// canary is the canary's value: its error rate, or its p99 latency.
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Canary string `json:"canary,omitempty"`
	// primary is the primary's value.
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Primary string `json:"primary,omitempty"`
	// effect is the estimated degradation: a difference of error rates in
	// percentage points, or a latency ratio (x1.20 is 20% slower).
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Effect string `json:"effect,omitempty"`
	// lower and upper bound the effect at the comparison's confidence, valid
	// at every look.
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Lower string `json:"lower,omitempty"`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Upper string `json:"upper,omitempty"`
	// allowed is the allowed degradation, on the effect's scale.
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Allowed string `json:"allowed,omitempty"`
	// verdict is Pass, Fail or Inconclusive.
	// +kubebuilder:validation:Enum=Pass;Fail;Inconclusive
	// +optional
	Verdict string `json:"verdict,omitempty"`
	// canaryRequests are the canary requests compared so far.
	// +kubebuilder:validation:MaxLength=32
	// +optional
	CanaryRequests string `json:"canaryRequests,omitempty"`
	// moreRequests is, when inconclusive, about how many more canary
	// requests would decide if the estimate stayed where it is.
	// +kubebuilder:validation:MaxLength=32
	// +optional
	MoreRequests string `json:"moreRequests,omitempty"`
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
	// ReconcilingCondition is True while the canary is initializing or a
	// release is under way; its message says what the operator waits for.
	ReconcilingCondition = "Reconciling"
	// StalledCondition is True while the operator cannot make progress
	// until the Canary, its target or the cluster changes (an invalid
	// configuration).
	StalledCondition = "Stalled"
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
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// annotations to add.
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

func init() {
	SchemeBuilder.Register(&Canary{}, &CanaryList{})
}
