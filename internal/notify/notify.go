// Package notify delivers notifications about canary releases (the events
// of each step) to sinks, such as event webhooks, without ever making a
// release wait for them: Notify queues and returns at once, a fixed pool
// of workers delivers each notification to each sink with its own
// timeout, and a full queue drops the notification, counted and logged.
// A release decision, and the routes that carry it out, never depend on a
// receiver being up or fast.
package notify

import (
	"context"
	"time"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Severity ranks a notification; alert sinks send those at or above the
// severity a canary's alert asks for.
type Severity string

// The severities, in Flagger's words.
const (
	SeverityInfo  Severity = "info"
	SeverityWarn  Severity = "warn"
	SeverityError Severity = "error"
)

// Notification is one event of a canary release with what a receiver
// needs to explain it: the canary's state at the event, the decision and
// the checks of the last analysis run with their values and thresholds.
type Notification struct {
	// Name and Namespace identify the canary.
	Name, Namespace string
	Phase           flaggerv1.CanaryPhase
	// CanaryWeight, FailedChecks and Iterations are the status at the event.
	CanaryWeight int
	FailedChecks int
	Iterations   int
	// EventType is the Kubernetes event type: Normal or Warning.
	EventType string
	Severity  Severity
	// Reason is the event's machine-readable reason, e.g. Advance or Failed.
	Reason string
	// Message is the event's text, e.g. "Advance podinfo.test canary weight 10".
	Message string
	// Decision and Checks are status.lastAnalysis: the decision of the last
	// analysis run and each check with its value and threshold.
	Decision string
	Checks   []flaggerv1.CheckResult
	// Time is when the event happened.
	Time time.Time
}

// Sink receives notifications.
type Sink interface {
	// Kind names the sort of sink from a small fixed set (the metrics
	// label), e.g. "event-webhook".
	Kind() string
	// Name identifies the sink in logs. It is never a URL: receivers'
	// addresses often carry secrets.
	Name() string
	// Deliver sends one notification; ctx carries the delivery's timeout.
	Deliver(ctx context.Context, n Notification) error
}
