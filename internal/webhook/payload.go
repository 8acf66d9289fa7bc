package webhook

import (
	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Payload is the JSON body POSTed to a webhook.
type Payload struct {
	Name      string                `json:"name"`
	Namespace string                `json:"namespace"`
	Phase     flaggerv1.CanaryPhase `json:"phase"`
	// Checksum identifies the revision under analysis.
	Checksum string            `json:"checksum"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// EventPayload is the JSON body POSTed to an event webhook. Its metadata
// holds eventMessage, eventType and timestamp (Unix milliseconds).
type EventPayload struct {
	Name      string                `json:"name"`
	Namespace string                `json:"namespace"`
	Phase     flaggerv1.CanaryPhase `json:"phase"`
	Metadata  map[string]string     `json:"metadata"`
}

// newPayload returns the payload of a webhook of the canary.
func newPayload(canary *flaggerv1.Canary, w flaggerv1.CanaryWebhook, checksum string) Payload {
	p := Payload{
		Name:      canary.Name,
		Namespace: canary.Namespace,
		Phase:     canary.Status.Phase,
		Checksum:  checksum,
	}
	if w.Metadata != nil && len(*w.Metadata) > 0 {
		p.Metadata = *w.Metadata
	}
	return p
}
