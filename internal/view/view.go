// Package view turns a Canary and its events into what people read: a row
// of the canary list, the detail of a release (timeline, metric series
// against their thresholds, gates, levers, events) and an explanation of
// the last step in words and numbers. The kubectl plugin prints these and
// the dashboard serves them as JSON, so both say the same thing.
package view

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Summary is one canary in a list.
type Summary struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Phase is status.phase; "" before the operator has seen the canary.
	Phase        string `json:"phase"`
	Weight       int    `json:"weight"`
	FailedChecks int    `json:"failedChecks"`
	// Threshold is the failed checks that roll the release back.
	Threshold int `json:"threshold"`
	// LastDecision is the decision of the last analysis run.
	LastDecision       string     `json:"lastDecision,omitempty"`
	LastTransitionTime *time.Time `json:"lastTransitionTime,omitempty"`
	// Paused names who paused the release (serin.dev/pause).
	Paused string `json:"paused,omitempty"`
	// Suspended is spec.suspend.
	Suspended bool `json:"suspended,omitempty"`
	// Problem is the Ready condition's message when it is False.
	Problem string `json:"problem,omitempty"`
}

// Summarize returns c's row of the canary list.
func Summarize(c *flaggerv1.Canary) Summary {
	s := Summary{
		Namespace: c.Namespace, Name: c.Name, Phase: string(c.Status.Phase),
		Weight: c.Status.CanaryWeight, FailedChecks: c.Status.FailedChecks, Threshold: c.GetThreshold(),
		Suspended: c.Spec.Suspend,
	}
	if la := c.Status.LastAnalysis; la != nil {
		s.LastDecision = la.Decision
	}
	if t := c.Status.LastTransitionTime; !t.IsZero() {
		tm := t.UTC()
		s.LastTransitionTime = &tm
	}
	if l := c.Status.Levers; l != nil && l.Pause != nil {
		s.Paused = requester(l.Pause.RequestedBy)
	}
	if cond := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.ReadyCondition); cond != nil && cond.Status == metav1.ConditionFalse {
		s.Problem = cond.Message
	}
	return s
}

// SortSummaries orders a list by namespace, then name.
func SortSummaries(list []Summary) {
	sort.Slice(list, func(i, j int) bool {
		if list[i].Namespace != list[j].Namespace {
			return list[i].Namespace < list[j].Namespace
		}
		return list[i].Name < list[j].Name
	})
}

// Event is a Kubernetes event about a canary.
type Event struct {
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Count   int32     `json:"count"`
	Time    time.Time `json:"time"`
}

// maxEvents is how many of a canary's events a detail shows, the latest.
const maxEvents = 50

// Events returns the events of c among evs, oldest first, the latest
// maxEvents of them.
func Events(c *flaggerv1.Canary, evs []corev1.Event) []Event {
	var out []Event
	for _, e := range evs {
		if e.InvolvedObject.Kind != "Canary" || e.InvolvedObject.Name != c.Name || e.InvolvedObject.Namespace != c.Namespace {
			continue
		}
		if e.InvolvedObject.UID != "" && c.UID != "" && e.InvolvedObject.UID != c.UID {
			continue // an earlier canary of the same name
		}
		out = append(out, Event{Type: e.Type, Reason: e.Reason, Message: e.Message, Count: max(e.Count, 1), Time: eventTime(e)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	if len(out) > maxEvents {
		out = out[len(out)-maxEvents:]
	}
	return out
}

// eventTime is when an event last happened, whichever API wrote it.
func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.UTC()
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.UTC()
	case !e.EventTime.IsZero():
		return e.EventTime.UTC()
	}
	return e.CreationTimestamp.UTC()
}

// requester is how a lever's requester is shown when managedFields did not
// say who it was.
func requester(manager string) string {
	if manager == "" {
		return "unknown client"
	}
	return manager
}
