package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// CanaryJudge turns on the statistical judge: metrics with compare are
// judged by comparing the canary with the primary over the same
// intervals, at a confidence that holds over all looks of a release
// (docs/judge.md). Only a weighted canary (stepWeight or stepWeights)
// splits traffic at random between the two, so only it can be judged.
type CanaryJudge struct {
	// confidence, in percent, that the judge does not roll back a canary
	// within every allowed degradation, over the whole release; the
	// comparisons share it equally. 99 when unset.
	// +kubebuilder:validation:Minimum=50
	// +kubebuilder:validation:Maximum=99.99
	// +optional
	Confidence float64 `json:"confidence,omitempty"`

	// inconclusive is what happens while the data does not decide.
	// +required
	Inconclusive JudgeInconclusivePolicy `json:"inconclusive"`
}

// JudgeInconclusivePolicy bounds how long a release holds its weight for
// lack of data.
type JudgeInconclusivePolicy struct {
	// maxSteps is how many inconclusive analysis steps hold the canary's
	// weight in a release; the next inconclusive step applies then.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	// +required
	MaxSteps int `json:"maxSteps"`

	// then is promote (later inconclusive steps advance as if passed; a
	// conclusive failure still rolls back) or fail (roll back).
	// +kubebuilder:validation:Enum=promote;fail
	// +required
	Then string `json:"then"`
}

// The inconclusive policies.
const (
	JudgeThenPromote = "promote"
	JudgeThenFail    = "fail"
)

// DefaultJudgeConfidence is the judge's confidence, in percent, when unset.
const DefaultJudgeConfidence = 99

// MetricComparison judges a metric by comparing the canary with the
// primary instead of holding it to a threshold.
type MetricComparison struct {
	// allowedDegradation is how much worse than the primary the canary may
	// be: percentage points of errors for an error rate ("+0.5pp", at
	// most 50pp), percent of slowdown for a latency ("+10%", at most
	// 10000%). request-success-rate is an error rate, request-duration a
	// latency; a MetricTemplate's compare.kind says which it is.
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:Pattern=`^\+?[0-9]{1,5}(\.[0-9]{1,6})?(pp|%)$`
	// +kubebuilder:validation:XValidation:rule="!self.endsWith('pp') || double(self.replace('+', '').replace('pp', '')) <= 50.0",message="an error rate's allowedDegradation is at most +50pp"
	// +kubebuilder:validation:XValidation:rule="!self.endsWith('%') || double(self.replace('+', '').replace('%', '')) <= 10000.0",message="a latency's allowedDegradation is at most +10000%"
	// +required
	AllowedDegradation string `json:"allowedDegradation"`
}

// MetricTemplateComparison holds the queries a comparison runs, once for
// the canary's workload and once for the primary's. They are templates
// like query, with two more variables: {{ workload }}, the canary's
// workload (the target) or the primary's (<target>-primary), and
// {{ window }}, the time since the judge's previous look (e.g. 60s), the
// range to put in increase().
//
// +kubebuilder:validation:XValidation:rule="self.kind != 'errorRate' || (has(self.requests) && has(self.errors) && !has(self.buckets))",message="compare.kind errorRate needs compare.requests and compare.errors (request and error counts), and no compare.buckets"
// +kubebuilder:validation:XValidation:rule="self.kind != 'latency' || (has(self.buckets) && !has(self.requests) && !has(self.errors))",message="compare.kind latency needs compare.buckets (a histogram by le), and no compare.requests or compare.errors"
type MetricTemplateComparison struct {
	// kind is errorRate (requests and errors) or latency (buckets).
	// +kubebuilder:validation:Enum=errorRate;latency
	// +required
	Kind string `json:"kind"`

	// requests is a query for the number of requests in the window, e.g.
	// sum(increase(http_requests_total{pod=~"{{ workload }}-.*"}[{{ window }}])).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=16384
	// +optional
	Requests string `json:"requests,omitempty"`

	// errors is a query for the number of failed requests in the window.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=16384
	// +optional
	Errors string `json:"errors,omitempty"`

	// buckets is a query for the latency histogram of the window, one
	// series per bucket labelled le, e.g.
	// sum(increase(http_request_duration_seconds_bucket{pod=~"{{ workload }}-.*"}[{{ window }}])) by (le).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=16384
	// +optional
	Buckets string `json:"buckets,omitempty"`
}

// The comparison kinds.
const (
	CompareErrorRate = "errorRate"
	CompareLatency   = "latency"
)

// JudgeStatus is the judge's evidence of the current revision, kept so that
// a restart resumes the sequential test where it was. It is cleared when a
// new revision starts.
type JudgeStatus struct {
	// since is when the judge's next window starts: the end of its previous
	// look, or when traffic was first routed to the canary.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`

	// looks is the number of windows observed.
	// +optional
	Looks int `json:"looks,omitempty"`

	// inconclusiveSteps counts the release's inconclusive steps.
	// +optional
	InconclusiveSteps int `json:"inconclusiveSteps,omitempty"`

	// comparisons hold each comparison's evidence.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Comparisons []JudgeEvidence `json:"comparisons,omitempty"`
}

// JudgeEvidence is one comparison's evidence, with the configuration it was
// gathered for; a changed configuration starts it afresh.
type JudgeEvidence struct {
	// name of the metric.
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`
	// kind is errorRate or latency.
	// +kubebuilder:validation:MaxLength=16
	Kind string `json:"kind"`
	// allowedDegradation the evidence was gathered for.
	AllowedDegradation JudgeMargin `json:"allowedDegradation"`
	// errorRate is an error-rate comparison's evidence.
	// +optional
	ErrorRate *ErrorRateEvidence `json:"errorRate,omitempty"`
	// latency is a latency comparison's evidence.
	// +optional
	Latency *LatencyEvidence `json:"latency,omitempty"`
}

// JudgeMargin is an allowed degradation: a value in a unit (pp or %).
type JudgeMargin struct {
	Value float64 `json:"value"`
	// +kubebuilder:validation:MaxLength=2
	Unit string `json:"unit"`
}

// RequestCounts are requests and failed requests (fractional: Prometheus's
// increase() extrapolates).
type RequestCounts struct {
	Requests float64 `json:"requests"`
	Errors   float64 `json:"errors"`
}

// ErrorRateEvidence is the stratified sums of an error-rate comparison
// (docs/judge.md, "Error rate").
type ErrorRateEvidence struct {
	Canary             RequestCounts `json:"canary"`
	Primary            RequestCounts `json:"primary"`
	Weight             float64       `json:"weight"`
	WeightedDifference float64       `json:"weightedDifference"`
	CanarySquares      float64       `json:"canarySquares"`
	PrimarySquares     float64       `json:"primarySquares"`
}

// LatencyEvidence is the pooled histograms and rank sums of a latency
// comparison (docs/judge.md, "Latency").
type LatencyEvidence struct {
	// +kubebuilder:validation:MaxItems=64
	Bounds []float64 `json:"bounds,omitempty"`
	// +kubebuilder:validation:MaxItems=65
	Canary []float64 `json:"canary,omitempty"`
	// +kubebuilder:validation:MaxItems=65
	Primary        []float64 `json:"primary,omitempty"`
	Weight         float64   `json:"weight"`
	CanarySquares  float64   `json:"canarySquares"`
	PrimarySquares float64   `json:"primarySquares"`
	// +kubebuilder:validation:MaxItems=128
	RankSums []float64 `json:"rankSums,omitempty"`
}
