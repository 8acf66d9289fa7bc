// Package alert sends a canary's events to chat services, as Flagger's
// AlertProviders do: Slack, Microsoft Teams, Discord, Rocket.Chat and Google
// Chat, each in its own webhook format. A Target is one provider with its
// address resolved (from the AlertProvider, or its Secret); a Message is one
// event with the numbers behind it; a Sender posts a Message to a Target
// through the egress guard, retrying with backoff within the caller's
// deadline. Queueing and concurrency are the caller's (a delivery never runs
// on a reconcile's path).
package alert

import (
	"fmt"
	"strings"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/notify"
)

// Wanted tells whether an alert that asks for severity filter (a Canary's
// analysis.alerts[].severity; info when empty) receives an event of
// severity event: info receives everything, warn receives warn and error,
// error receives error only.
func Wanted(filter, event notify.Severity) bool {
	rank := map[notify.Severity]int{notify.SeverityInfo: 0, notify.SeverityWarn: 1, notify.SeverityError: 2}
	return rank[event] >= rank[filter]
}

// Field is a named fact of a message, e.g. the value of a check.
type Field struct {
	Name, Value string
}

// Message is one event of a canary release.
type Message struct {
	// Canary and Namespace name the canary.
	Canary, Namespace string
	// Text says what happened, e.g. "Rolling back podinfo.test failed
	// checks threshold reached 2".
	Text     string
	Severity notify.Severity
	// Fields are the facts behind the decision, shown under the text.
	Fields []Field
}

// Subject names the canary as Flagger's alerts do: name.namespace.
func (m Message) Subject() string { return m.Canary + "." + m.Namespace }

// CheckFields turns the checks of an analysis run into fields: a metric's
// value against its threshold, a webhook's verdict, and why it failed.
func CheckFields(checks []flaggerv1.CheckResult) []Field {
	out := make([]Field, 0, len(checks))
	for _, c := range checks {
		var b strings.Builder
		switch {
		case c.Value != "" && c.Threshold != "":
			fmt.Fprintf(&b, "%s (threshold %s)", c.Value, c.Threshold)
		case c.Value != "":
			b.WriteString(c.Value)
		case c.Passed:
			b.WriteString("passed")
		default:
			b.WriteString("failed")
		}
		if !c.Passed && c.Message != "" {
			fmt.Fprintf(&b, ": %s", c.Message)
		}
		out = append(out, Field{Name: c.Name, Value: b.String()})
	}
	return out
}
