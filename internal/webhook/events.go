package webhook

import (
	"context"
	"strconv"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/notify"
)

// EventSinkKind is the notify.Sink kind of event webhooks.
const EventSinkKind = "event-webhook"

// EventSinks returns a sink for each of the canary's event webhooks and,
// when set, one for EventURL (the operator's --event-webhook).
func (c *Client) EventSinks(canary *flaggerv1.Canary) []notify.Sink {
	var sinks []notify.Sink
	if a := canary.GetAnalysis(); a != nil {
		for _, w := range a.Webhooks {
			if w.Type == flaggerv1.EventHook {
				sinks = append(sinks, eventSink{client: c, hook: w})
			}
		}
	}
	if c.EventURL != "" {
		sinks = append(sinks, eventSink{client: c, hook: flaggerv1.CanaryWebhook{Name: eventURLName, Type: flaggerv1.EventHook, URL: c.EventURL}})
	}
	return sinks
}

// eventSink POSTs notifications to one event webhook in Flagger's event
// payload.
type eventSink struct {
	client *Client
	hook   flaggerv1.CanaryWebhook
}

func (s eventSink) Kind() string { return EventSinkKind }
func (s eventSink) Name() string { return s.hook.Name }

// Deliver POSTs the event; the webhook's own timeout and retries apply
// within ctx's deadline.
func (s eventSink) Deliver(ctx context.Context, n notify.Notification) error {
	return s.client.call(ctx, s.hook, EventPayload{
		Name:      n.Name,
		Namespace: n.Namespace,
		Phase:     n.Phase,
		Metadata: map[string]string{
			"eventMessage": n.Message,
			"eventType":    n.EventType,
			"timestamp":    strconv.FormatInt(n.Time.UnixMilli(), 10),
		},
	}).Err
}
