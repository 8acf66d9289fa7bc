package demo

import (
	"strings"
	"testing"
)

func TestCheckRollbackSequence(t *testing.T) {
	const (
		start    = "Starting canary analysis for podinfo.prod"
		adv5     = "Advance podinfo.prod canary weight 5"
		adv10    = "Advance podinfo.prod canary weight 10"
		adv15    = "Advance podinfo.prod canary weight 15"
		rate     = "Halt podinfo.prod advancement success rate 69.17% < 99%"
		duration = "Halt podinfo.prod advancement request duration 1.2s > 500ms"
		noValues = "Halt advancement no values found for appmesh metric request-success-rate probably podinfo.prod is not receiving traffic"
		rollback = "Rolling back podinfo.prod failed checks threshold reached 5"
		failed   = "Canary failed! Scaling down podinfo.prod"
	)
	tests := map[string]struct {
		// msgs are the operator's messages, in order.
		msgs []string
		// wantErr is part of the error; empty when the sequence is valid.
		wantErr string
	}{
		"the seed's own log is accepted": {
			msgs: []string{start, adv5, adv10, adv15, rate, rate, rate, duration, duration, rollback, failed},
		},
		"a check without values before the first halt counts as a failed check": {
			msgs: []string{"New revision detected! Scaling up podinfo.prod", start, adv5, noValues, adv10, rate, rate, rate, rate, rollback, failed},
		},
		"four failed checks are not the threshold": {
			msgs:    []string{start, adv5, adv10, rate, rate, rate, rate, rollback, failed},
			wantErr: "4 failed checks",
		},
		"halts without any value are not the seed's": {
			msgs:    []string{start, adv5, adv10, noValues, noValues, noValues, noValues, noValues, rollback, failed},
			wantErr: "no halt on success rate",
		},
		"the canary must advance before the faults": {
			msgs:    []string{start, rate, rate, rate, rate, rate, rollback, failed},
			wantErr: "want 5, 10",
		},
		"a success rate above the threshold is no halt": {
			msgs:    []string{start, adv5, adv10, "Halt podinfo.prod advancement success rate 99.50% < 99%", rate, rate, rate, rate, rollback, failed},
			wantErr: "not a percentage below 99",
		},
		"an advance after a halt is out of order": {
			msgs:    []string{start, adv5, adv10, rate, adv15, rate, rate, rate, rate, rollback, failed},
			wantErr: "out of the seed's order",
		},
		"another canary's message is unexpected": {
			msgs:    []string{start, adv5, adv10, "Advance podinfo.test canary weight 5", rate, rate, rate, rate, rate, rollback, failed},
			wantErr: "unexpected message",
		},
		"the scale-down must come last": {
			msgs:    []string{start, adv5, adv10, rate, rate, rate, rate, rate, rollback},
			wantErr: "last message",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var msgs []Message
			for _, m := range tc.msgs {
				msgs = append(msgs, Message{Text: m})
			}
			err := CheckRollbackSequence("prod", "appmesh", msgs)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
