// Package analysis decides the next step of a canary release. Step is pure:
// it takes the canary, what the reconciler observed and a Checks interface
// for webhooks and metrics, and returns the next status with the events to
// record. The reconciler then makes the cluster match that status (routes,
// scaling, promotion), so a restart at any moment resumes from the status.
package analysis

import (
	"strings"
	"time"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/levers"
	"github.com/serin-dev/serin/internal/workload"
)

// Revision identifies what the target runs: its pod template and the
// checksums of the ConfigMaps and Secrets it uses.
type Revision struct {
	TemplateHash string
	Configs      map[string]string
}

// Observation is what the reconciler read before the step.
type Observation struct {
	Now time.Time
	// Target is the target's current revision.
	Target Revision
	// CanaryReady and PrimaryReady are the workloads' rollout states.
	CanaryReady  workload.Readiness
	PrimaryReady workload.Readiness
	// PrimaryPromoted is true when the primary runs the target's template.
	PrimaryPromoted bool
	// CanaryScaledDown is true when the target has no replicas left.
	CanaryScaledDown bool
	// RoutesRestored is true when the routing objects did not carry the
	// status's weights and were set again just before this step.
	RoutesRestored bool
	// Levers are the lever requests on the canary's annotations.
	Levers map[levers.Lever]levers.Request
	// SinceLastStep is how long ago, to the millisecond, this process ran
	// the step that wrote status.lastAnalysis; 0 when it did not (another
	// process, or before a restart). The record holds its time to the
	// second only: due times computed from it alone are up to a second
	// early.
	SinceLastStep time.Duration
}

// HookResult is the outcome of one webhook call.
type HookResult struct {
	Name string
	// Err is nil when the webhook answered with success.
	Err error
}

// MetricResult is the outcome of one metric check.
type MetricResult struct {
	Name      string
	Value     string
	Threshold string
	Passed    bool
	// Message is the halt message of a failed check.
	Message string
	// NoValues is set when the query returned nothing: the canary got no
	// requests in the metric's interval.
	NoValues bool
}

// Checks runs the canary's webhooks and metric queries. Step calls it only
// when the lifecycle needs a result, so gates are not called twice.
type Checks interface {
	Hooks(t flaggerv1.HookType) []HookResult
	// Metrics runs the metrics held to a threshold.
	Metrics() []MetricResult
	// Compare measures the metrics with compare, for the canary and the
	// primary, over the window that ends now.
	Compare(window time.Duration) []ComparisonResult
}

// Event is a decision to tell the user about: a log line, a Kubernetes
// event and an event-webhook call with the same words.
type Event struct {
	Warning bool
	Message string
	// Kind is the event's reason when its message does not start with one
	// of the lifecycle's words (see Reason).
	Kind string
}

// Decision is the result of a step.
type Decision struct {
	Status flaggerv1.CanaryStatus
	Events []Event
	// RequeueAfter is when the next step is due; zero waits for a change.
	RequeueAfter time.Duration
}

// Strategy is how a release moves traffic.
type Strategy int

// The strategies, chosen from the analysis settings.
const (
	// Canary shifts weight step by step (stepWeight or stepWeights).
	Canary Strategy = iota
	// BlueGreen runs iterations with all traffic on the primary.
	BlueGreen
	// ABTesting routes requests matching analysis.match to the canary.
	ABTesting
)

// StrategyOf returns the canary's strategy: match+iterations is A/B,
// iterations alone blue/green, anything else a weighted canary.
func StrategyOf(c *flaggerv1.Canary) Strategy {
	a := c.GetAnalysis()
	switch {
	case a == nil || a.Iterations == 0:
		return Canary
	case len(a.Match) > 0:
		return ABTesting
	default:
		return BlueGreen
	}
}

// eventReasons name an event by how its message starts, so that events of
// different kinds are never merged by the event recorder's aggregation.
var eventReasons = []struct{ prefix, reason string }{
	{"New revision detected! Restarting", "Restarted"},
	{"New revision detected!", "NewRevision"},
	{"Starting canary analysis", "Started"},
	{"Advance", "Advance"},
	{"Halt", "Halt"},
	{"Hold", "Hold"},
	{"Rolling back", "RollingBack"},
	{"Canary failed!", "Failed"},
	{"Copying", "Promoting"},
	{"Routing all traffic to primary", "Finalising"},
	{"Promotion completed!", "Succeeded"},
	{"Skipping analysis", "SkipAnalysis"},
	{"Post-rollout hook", "PostRollout"},
}

// Reason is the event's machine-readable reason.
func (e Event) Reason() string {
	if e.Kind != "" {
		return e.Kind
	}
	for _, r := range eventReasons {
		if strings.HasPrefix(e.Message, r.prefix) {
			return r.reason
		}
	}
	return "Synced"
}
