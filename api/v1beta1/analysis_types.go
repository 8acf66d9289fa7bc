package v1beta1

// CanaryAnalysis describes how a new revision is measured and promoted.
// Exactly one of stepWeight, stepWeights or iterations picks the strategy:
// a weighted canary, or (with iterations) blue/green, or (with iterations
// and match) A/B testing.
//
// +kubebuilder:validation:XValidation:rule="(has(self.stepWeight) ? 1 : 0) + (has(self.stepWeights) ? 1 : 0) + (has(self.iterations) ? 1 : 0) == 1",message="set exactly one of stepWeight, stepWeights (weighted canary) or iterations (blue/green, or A/B with match)"
// +kubebuilder:validation:XValidation:rule="!has(self.match) || has(self.iterations)",message="match (A/B testing) needs iterations: the number of analysis runs before promotion"
// +kubebuilder:validation:XValidation:rule="!has(self.maxWeight) || !has(self.stepWeight) || self.stepWeight <= self.maxWeight",message="stepWeight must not exceed maxWeight"
// +kubebuilder:validation:XValidation:rule="!has(self.maxWeight) || !has(self.stepWeights) || self.stepWeights.all(w, w <= self.maxWeight)",fieldPath=".stepWeights",message="stepWeights must not exceed maxWeight"
// +kubebuilder:validation:XValidation:rule="!has(self.metrics) || self.metrics.all(m, self.metrics.exists_one(n, n.name == m.name))",fieldPath=".metrics",message="metric names must be unique: each names its check in the status and in messages"
// +kubebuilder:validation:XValidation:rule="!has(self.webhooks) || self.webhooks.all(w, self.webhooks.exists_one(v, v.name == w.name))",fieldPath=".webhooks",message="webhook names must be unique: each names its check in the status and in messages"
// +kubebuilder:validation:XValidation:rule="has(self.judge) || !has(self.metrics) || !self.metrics.exists(m, has(m.compare))",message="metrics[].compare needs analysis.judge: it sets the confidence and the inconclusive policy of the comparisons"
// +kubebuilder:validation:XValidation:rule="!has(self.judge) || (has(self.metrics) && self.metrics.exists(m, has(m.compare)))",fieldPath=".judge",message="analysis.judge needs at least one metric with compare: it judges only comparisons of the canary with the primary"
// +kubebuilder:validation:XValidation:rule="!has(self.judge) || !has(self.iterations)",fieldPath=".judge",message="analysis.judge (metrics[].compare) needs a weighted canary (stepWeight or stepWeights): blue/green and A/B testing (iterations) do not split traffic at random between the canary and the primary"
// +kubebuilder:validation:XValidation:rule="!has(self.metrics) || self.metrics.filter(m, has(m.compare)).size() <= 16",fieldPath=".metrics",message="at most 16 metrics may have compare"
// +kubebuilder:validation:XValidation:rule="!has(self.mirrorWeight) || (has(self.mirror) && self.mirror)",message="mirrorWeight needs mirror: true: it is the share of requests copied to the canary"
// +kubebuilder:validation:XValidation:rule="!has(self.iterations) || !(has(self.maxWeight) || has(self.stepWeightPromotion))",message="maxWeight and stepWeightPromotion apply to weighted canaries (stepWeight or stepWeights): with iterations the canary gets no weight"
// +kubebuilder:validation:XValidation:rule="!has(self.match) || !has(self.mirror) || !self.mirror",message="mirror is not supported with match (A/B testing): the matched requests already go to the canary"
// +kubebuilder:validation:XValidation:rule="!has(self.sessionAffinity) || has(self.stepWeight) || has(self.stepWeights)",message="sessionAffinity applies to weighted canaries (stepWeight or stepWeights): it keeps on the canary the users its weight sent there"
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
	// +kubebuilder:validation:MaxItems=10
	// +optional
	Alerts []CanaryAlert `json:"alerts,omitempty"`

	// metrics checked at each interval.
	// +kubebuilder:validation:MaxItems=20
	// +optional
	Metrics []CanaryMetric `json:"metrics,omitempty"`

	// judge compares the canary with the primary for the metrics with
	// compare (docs/judge.md); without it every metric is held to its
	// threshold.
	// +optional
	Judge *CanaryJudge `json:"judge,omitempty"`

	// webhooks called during the release (tests, gates, load, events).
	// +kubebuilder:validation:MaxItems=20
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
// +kubebuilder:validation:XValidation:rule="has(self.thresholdRange) || has(self.threshold) || has(self.compare)",message="metrics: set thresholdRange (or the deprecated threshold), or compare with analysis.judge: a metric without one can never fail"
// +kubebuilder:validation:XValidation:rule="!has(self.compare) || !(has(self.thresholdRange) || has(self.threshold))",message="metrics: set compare or thresholdRange (threshold), not both: a compared metric is judged against the primary, not a fixed threshold"
// +kubebuilder:validation:XValidation:rule="!has(self.compare) || !has(self.query)",message="metrics: compare needs request-success-rate, request-duration or a MetricTemplate with compare queries (templateRef); an inline query has no primary-side query"
// +kubebuilder:validation:XValidation:rule="!has(self.compare) || has(self.templateRef) || self.name != 'request-success-rate' || self.compare.allowedDegradation.endsWith('pp')",message="metrics: request-success-rate compares error rates, so its compare.allowedDegradation is in percentage points, e.g. +0.5pp"
// +kubebuilder:validation:XValidation:rule="!has(self.compare) || has(self.templateRef) || self.name != 'request-duration' || self.compare.allowedDegradation.endsWith('%')",message="metrics: request-duration compares latencies, so its compare.allowedDegradation is a slowdown in percent, e.g. +10%"
type CanaryMetric struct {
	// name of the metric; request-success-rate and request-duration are
	// built in.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +required
	Name string `json:"name"`

	// interval is the query's range, e.g. 1m; 1m when unset. A range
	// longer than a day would make each check a heavy query.
	// +kubebuilder:validation:Pattern=`^[0-9]+(m|s|h)$`
	// +kubebuilder:validation:MaxLength=10
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="metric interval must be from 1s to 24h"
	// +optional
	Interval string `json:"interval,omitempty"`

	// threshold is deprecated: a minimum for request-success-rate (percent)
	// and a maximum for every other metric (request-duration in ms).
	// +optional
	Threshold *float64 `json:"threshold,omitempty"`

	// thresholdRange is the accepted range of the value.
	// +optional
	ThresholdRange *CanaryThresholdRange `json:"thresholdRange,omitempty"`

	// compare judges the metric by comparing the canary with the primary
	// (needs analysis.judge) instead of a threshold. Under compare, interval
	// is the shortest window the judge looks at (the analysis interval when
	// unset).
	// +optional
	Compare *MetricComparison `json:"compare,omitempty"`

	// query is a deprecated inline PromQL query, a template like a
	// MetricTemplate's query.
	// +kubebuilder:validation:MaxLength=16384
	// +optional
	Query string `json:"query,omitempty"`

	// templateRef names the MetricTemplate holding the query.
	// +optional
	TemplateRef *CrossNamespaceObjectReference `json:"templateRef,omitempty"`

	// templateVariables are passed to the template as variables. Each value
	// is placed in the query as it is, so it must be able to stand inside a
	// quoted PromQL string without ending it (TemplateVariablePattern): no
	// quotes or control characters, and a backslash only as the start of an
	// escape such as \\ or \".
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[A-Za-z0-9_]+(-[A-Za-z0-9_]+)*$') && size(k) <= 63)",message="templateVariables names must be letters, digits, '_' and inner '-' (at most 63 characters)"
	// +kubebuilder:validation:XValidation:rule=`self.all(k, self[k].matches(r'^(?:[^\x22\x27\x60\x5c[:cntrl:]]|\x5c[abfnrtv\x22\x5c])*$'))`,message=`templateVariables values are placed inside quoted PromQL strings: they must not contain quotes (other than the escape \"), backquotes or control characters, and a backslash must start one of the escapes \\ \" \n \t (or \a \b \f \r \v)`
	// +optional
	TemplateVariables map[string]TemplateVariable `json:"templateVariables,omitempty"`
}

// TemplateVariablePattern is what a templateVariables value may be: the
// body of a PromQL double-quoted string. It has no quote of any kind but
// the escape \", no control character, and every backslash starts one of
// the escapes \\ \" \a \b \f \n \r \t \v (numeric escapes are refused:
// some of their values are not valid in PromQL or Go strings), so a value
// placed between double quotes is one valid string and cannot end it,
// and one placed between single quotes or backquotes cannot either (an
// escaped double quote there is a PromQL syntax error, not a way out).
// The CRD's rule on templateVariables is this pattern; the renderer
// checks it again for objects stored before the rule.
const TemplateVariablePattern = `^(?:[^\x22\x27\x60\x5c[:cntrl:]]|\x5c[abfnrtv\x22\x5c])*$`

// TemplateVariable is the value of one templateVariables entry.
// +kubebuilder:validation:MaxLength=1024
type TemplateVariable string

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
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
	// namespace of the referent. The operator's --no-cross-namespace-refs
	// flag refuses any other namespace than the Canary's.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
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
	// +kubebuilder:validation:MaxLength=128
	// +required
	Name string `json:"name"`

	// url the payload is POSTed to. Redirects are not followed, and the
	// operator may deny some networks (--egress-deny-cidrs).
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="webhook url must be an absolute http or https URL such as http://load-tester.test/"
	// +required
	URL string `json:"url"`

	// muteAlert keeps this webhook's failures out of alerts.
	// +optional
	MuteAlert bool `json:"muteAlert,omitempty"`

	// timeout of the call, e.g. 30s; 10s when empty; at most 5m. A check
	// that takes longer belongs in a background command (the load
	// tester's cmd type) whose result a later hook reads.
	// +kubebuilder:validation:Pattern=`^[0-9]+(ms|s|m)$`
	// +kubebuilder:validation:MaxLength=10
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('5m')",message="webhook timeout must be more than 0 and at most 5m"
	// +optional
	Timeout string `json:"timeout,omitempty"`

	// metadata is sent in the payload.
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 253 && size(self[k]) <= 4096)",message="webhook metadata keys must be at most 253 characters and values at most 4096"
	// +optional
	Metadata *map[string]string `json:"metadata,omitempty"`

	// retries of a failed call (transport errors and 5xx replies), after
	// the first attempt; at most 5, so that one webhook cannot hold the
	// analysis step for long.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=5
	// +optional
	Retries int `json:"retries,omitempty"`

	// disableTLS skips the verification of the webhook's TLS certificate,
	// for a receiver with a self-signed one. The egress policy and the
	// refusal of redirects still apply.
	// +optional
	DisableTLS bool `json:"disableTLS,omitempty"`
}

// CanaryAlert sends the release's events to an AlertProvider.
type CanaryAlert struct {
	// name of the alert.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
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

// SessionAffinity pins users to the canary with a cookie: while the canary
// has weight, its responses set the cookie, and requests that carry it go
// to the canary. The other fields are the cookie's attributes, as in
// Flagger; the cookie's value is chosen by the operator.
//
// +kubebuilder:validation:XValidation:rule="!has(self.primaryCookieName) || self.primaryCookieName != self.cookieName",message="sessionAffinity.primaryCookieName must differ from cookieName"
type SessionAffinity struct {
	// cookieName of the affinity cookie.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[!#$%&'*+.^_|~0-9A-Za-z-]+$`
	// +required
	CookieName string `json:"cookieName"`
	// maxAge of the cookie in seconds; 86400 when unset.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxAge int `json:"maxAge,omitempty"`
	// primaryCookieName, when set, is a second cookie that the primary's
	// responses set during the analysis, for one interval, and that keeps
	// its holders on the primary: a user served by the primary is not moved
	// to the canary when its weight grows.
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[!#$%&'*+.^_|~0-9A-Za-z-]+$`
	// +optional
	PrimaryCookieName string `json:"primaryCookieName,omitempty"`
	// domain is the cookie's Domain attribute.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9.-]+$`
	// +optional
	Domain string `json:"domain,omitempty"`
	// path is the cookie's Path attribute.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^/[^;\x00-\x1f\x7f]*$`
	// +optional
	Path string `json:"path,omitempty"`
	// httpOnly hides the cookie from scripts (HttpOnly).
	// +optional
	HttpOnly bool `json:"httpOnly,omitempty"` //nolint:revive // Flagger's field name
	// secure sends the cookie only over HTTPS (Secure).
	// +optional
	Secure bool `json:"secure,omitempty"`
	// partitioned stores the cookie in partitioned storage (Partitioned).
	// +optional
	Partitioned bool `json:"partitioned,omitempty"`
	// sameSite is the cookie's SameSite attribute.
	// +kubebuilder:validation:Enum=Strict;Lax;None
	// +optional
	SameSite string `json:"sameSite,omitempty"`
}
