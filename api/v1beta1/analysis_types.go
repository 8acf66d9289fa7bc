package v1beta1

// CanaryAnalysis describes how a new revision is measured and promoted.
// Exactly one of stepWeight, stepWeights or iterations picks the strategy:
// a weighted canary, or (with iterations) blue/green, or (with iterations
// and match) A/B testing.
//
// +kubebuilder:validation:XValidation:rule="(has(self.stepWeight) ? 1 : 0) + (has(self.stepWeights) ? 1 : 0) + (has(self.iterations) ? 1 : 0) == 1",message="set exactly one of stepWeight, stepWeights (weighted canary) or iterations (blue/green, or A/B with match)"
// +kubebuilder:validation:XValidation:rule="!has(self.match) || has(self.iterations)",message="match (A/B testing) needs iterations: the number of analysis runs before promotion"
// +kubebuilder:validation:XValidation:rule="!has(self.maxWeight) || !has(self.stepWeight) || self.stepWeight <= self.maxWeight",message="stepWeight must not exceed maxWeight"
type CanaryAnalysis struct {
	// interval between analysis runs, e.g. 1m or 10s (at least 1s).
	// +kubebuilder:validation:Pattern=`^[0-9]+(m|s)$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="interval must be at least 1s"
	// +optional
	Interval string `json:"interval,omitempty"`

	// iterations is the number of analysis runs of a blue/green or A/B release.
	// +kubebuilder:validation:Minimum=1
	// +optional
	Iterations int `json:"iterations,omitempty"`

	// mirror copies traffic to the canary before shifting it (Istio).
	// +optional
	Mirror bool `json:"mirror,omitempty"`

	// mirrorWeight is the percentage of traffic mirrored.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	MirrorWeight int `json:"mirrorWeight,omitempty"`

	// maxWeight is the canary weight, in percent, at which it is promoted.
	// Unset: 50 under canaryAnalysis (v1alpha3), and under analysis 100, or
	// the last entry of stepWeights.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	MaxWeight int `json:"maxWeight,omitempty"`

	// stepWeight is the weight added to the canary at each interval.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	StepWeight int `json:"stepWeight,omitempty"`

	// stepWeights are the canary weights of successive steps, ascending.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:Minimum=1
	// +kubebuilder:validation:items:Maximum=100
	// +kubebuilder:validation:XValidation:rule="self.isSorted()",message="stepWeights must be in ascending order"
	// +optional
	StepWeights []int `json:"stepWeights,omitempty"`

	// stepWeightPromotion is the weight moved to the primary at each interval
	// of the promotion; all at once when unset.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	StepWeightPromotion int `json:"stepWeightPromotion,omitempty"`

	// threshold is the number of failed checks before rollback; 1 when unset.
	// +kubebuilder:validation:Minimum=1
	// +optional
	Threshold int `json:"threshold,omitempty"`

	// primaryReadyThreshold is the percentage of primary pods that must be
	// ready; 100 when unset.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	PrimaryReadyThreshold *int `json:"primaryReadyThreshold,omitempty"`

	// canaryReadyThreshold is the percentage of canary pods that must be
	// ready; 100 when unset.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	CanaryReadyThreshold *int `json:"canaryReadyThreshold,omitempty"`

	// alerts send analysis events to AlertProviders.
	// +optional
	Alerts []CanaryAlert `json:"alerts,omitempty"`

	// metrics checked at each interval.
	// +optional
	Metrics []CanaryMetric `json:"metrics,omitempty"`

	// webhooks called during the release (tests, gates, load, events).
	// +optional
	Webhooks []CanaryWebhook `json:"webhooks,omitempty"`

	// match selects the requests routed to the canary in A/B testing.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Match []HTTPMatchRequest `json:"match,omitempty"`

	// sessionAffinity keeps a user on the canary once routed there.
	// +optional
	SessionAffinity *SessionAffinity `json:"sessionAffinity,omitempty"`
}

// CanaryMetric is a check run at each interval.
//
// +kubebuilder:validation:XValidation:rule="self.name in ['request-success-rate', 'request-duration'] || has(self.templateRef) || has(self.query)",message="metrics: only request-success-rate and request-duration are built in; another metric needs templateRef (or the deprecated query)"
// +kubebuilder:validation:XValidation:rule="!(has(self.templateRef) && has(self.query))",message="metrics: set templateRef or query, not both"
type CanaryMetric struct {
	// name of the metric; request-success-rate and request-duration are
	// built in.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// interval is the query's range, e.g. 1m; 1m when unset.
	// +kubebuilder:validation:Pattern=`^[0-9]+(m|s|h)$`
	// +optional
	Interval string `json:"interval,omitempty"`

	// threshold is deprecated: a minimum for request-success-rate (percent)
	// and a maximum for every other metric (request-duration in ms).
	// +optional
	Threshold *float64 `json:"threshold,omitempty"`

	// thresholdRange is the accepted range of the value.
	// +optional
	ThresholdRange *CanaryThresholdRange `json:"thresholdRange,omitempty"`

	// query is a deprecated inline PromQL query.
	// +optional
	Query string `json:"query,omitempty"`

	// templateRef names the MetricTemplate holding the query.
	// +optional
	TemplateRef *CrossNamespaceObjectReference `json:"templateRef,omitempty"`

	// templateVariables are passed to the template as .variables.
	// +optional
	TemplateVariables map[string]string `json:"templateVariables,omitempty"`
}

// CanaryThresholdRange is an accepted range; an unset bound is open.
//
// +kubebuilder:validation:XValidation:rule="has(self.min) || has(self.max)",message="thresholdRange needs min, max or both"
// +kubebuilder:validation:XValidation:rule="!has(self.min) || !has(self.max) || self.min <= self.max",message="thresholdRange.min must not exceed thresholdRange.max"
type CanaryThresholdRange struct {
	// min accepted value.
	// +optional
	Min *float64 `json:"min,omitempty"`
	// max accepted value.
	// +optional
	Max *float64 `json:"max,omitempty"`
}

// CrossNamespaceObjectReference names an object, in the Canary's namespace
// when namespace is empty.
type CrossNamespaceObjectReference struct {
	// name of the referent.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`
	// namespace of the referent.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// HookType says when a webhook is called.
// +kubebuilder:validation:Enum=confirm-rollout;pre-rollout;rollout;confirm-traffic-increase;confirm-promotion;post-rollout;rollback;event
type HookType string

// The webhook types.
const (
	ConfirmRolloutHook         HookType = "confirm-rollout"
	PreRolloutHook             HookType = "pre-rollout"
	RolloutHook                HookType = "rollout"
	ConfirmTrafficIncreaseHook HookType = "confirm-traffic-increase"
	ConfirmPromotionHook       HookType = "confirm-promotion"
	PostRolloutHook            HookType = "post-rollout"
	RollbackHook               HookType = "rollback"
	EventHook                  HookType = "event"
)

// CanaryWebhook is an HTTP call made during the release.
type CanaryWebhook struct {
	// type says when the webhook is called; rollout when empty.
	// +optional
	Type HookType `json:"type,omitempty"`

	// name of the webhook, used in messages.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// url the payload is POSTed to.
	// +kubebuilder:validation:XValidation:rule="isURL(self)",message="webhook url must be an absolute URL such as http://load-tester.test/"
	// +required
	URL string `json:"url"`

	// muteAlert keeps this webhook's failures out of alerts.
	// +optional
	MuteAlert bool `json:"muteAlert,omitempty"`

	// timeout of the call, e.g. 30s; 10s when empty.
	// +kubebuilder:validation:Pattern=`^[0-9]+(ms|s|m)$`
	// +optional
	Timeout string `json:"timeout,omitempty"`

	// metadata is sent in the payload.
	// +optional
	Metadata *map[string]string `json:"metadata,omitempty"`

	// retries of a failed call.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	// +optional
	Retries int `json:"retries,omitempty"`
}

// CanaryAlert sends the release's events to an AlertProvider.
type CanaryAlert struct {
	// name of the alert.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`

	// severity of the events sent: info sends all, warn and error fewer.
	// +kubebuilder:validation:Enum=info;warn;error
	// +optional
	Severity string `json:"severity,omitempty"`

	// providerRef names the AlertProvider.
	// +required
	ProviderRef CrossNamespaceObjectReference `json:"providerRef"`
}

// SessionAffinity pins users to the canary with a cookie.
type SessionAffinity struct {
	// cookieName of the affinity cookie.
	// +kubebuilder:validation:MinLength=1
	// +required
	CookieName string `json:"cookieName"`
	// maxAge of the cookie in seconds; 86400 when unset.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxAge int `json:"maxAge,omitempty"`
}
