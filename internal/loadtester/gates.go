package loadtester

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// GateKind names one of the two gates a canary has.
type GateKind string

const (
	// GateApproval is the manual approval gate behind /gate/check, /gate/open and /gate/close.
	GateApproval GateKind = "gate"
	// GateRollback is the gate behind /rollback/*; open means "roll back now".
	GateRollback GateKind = "rollback"
)

// ErrTooManyGates means that opening one more gate would exceed the store's limit.
var ErrTooManyGates = errors.New("too many open gates")

// GateStore persists which gates are open. Every gate starts closed, so a store only needs to
// remember the open ones. Keys are a kind and a canary ("name.namespace"). SetOpen refuses to
// open a gate beyond the store's limit with ErrTooManyGates.
type GateStore interface {
	IsOpen(ctx context.Context, kind GateKind, canary string) (bool, error)
	SetOpen(ctx context.Context, kind GateKind, canary string, open bool) error
}

// handleApprove always approves: a confirm-* webhook pointing here lets the canary proceed.
func (s *Server) handleApprove(w http.ResponseWriter, _ *http.Request) {
	reply(w, http.StatusOK, "approved")
}

// handleHalt always refuses: a confirm-* webhook pointing here holds the canary until the
// webhook is changed.
func (s *Server) handleHalt(w http.ResponseWriter, _ *http.Request) {
	reply(w, http.StatusForbidden, "halted")
}

// handleGateCheck answers 200 when the gate of the payload's canary is open and 403 otherwise,
// which is what the controller reads as "approved" and "not yet" (or, for the rollback gate,
// "roll back" and "carry on").
func (s *Server) handleGateCheck(kind GateKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.gatePayload(w, r)
		if !ok {
			return
		}
		open, err := s.gates.IsOpen(r.Context(), kind, p.Canary())
		if err != nil {
			s.failGate(w, kind, p, fmt.Errorf("read %s state: %w", kind, err))
			return
		}
		s.metrics.gateChecks.WithLabelValues(string(kind), map[bool]string{true: "open", false: "closed"}[open]).Inc()
		if open {
			reply(w, http.StatusOK, fmt.Sprintf("%s open for %s", kind, p.Canary()))
			return
		}
		reply(w, http.StatusForbidden, fmt.Sprintf("%s closed for %s", kind, p.Canary()))
	}
}

// handleGateSet opens or closes the gate of the payload's canary and persists the change
// before answering, so a 202 means the state survives a restart.
func (s *Server) handleGateSet(kind GateKind, open bool) http.HandlerFunc {
	verb := map[bool]string{true: "opened", false: "closed"}[open]
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.gatePayload(w, r)
		if !ok {
			return
		}
		err := s.gates.SetOpen(r.Context(), kind, p.Canary(), open)
		switch {
		case errors.Is(err, ErrTooManyGates):
			s.refuse(w, r, refusal(http.StatusTooManyRequests, "too_many_gates",
				"%v (--max-gates %d): close the gates of finished releases first", err, s.cfg.MaxGates))
			return
		case err != nil:
			s.failGate(w, kind, p, fmt.Errorf("save %s state: %w", kind, err))
			return
		}
		s.metrics.gateChanges.WithLabelValues(string(kind), verb).Inc()
		s.log.Info("Gate changed", "gate", string(kind), "canary", p.Canary(), "open", open)
		reply(w, http.StatusAccepted, fmt.Sprintf("%s %s for %s", kind, verb, p.Canary()))
	}
}

// gatePayload decodes and checks the payload of a gate request, replying on failure.
func (s *Server) gatePayload(w http.ResponseWriter, r *http.Request) (Payload, bool) {
	p, rerr := s.decodePayload(w, r)
	if rerr == nil {
		rerr = s.cfg.Policy.CheckCanary(p)
	}
	if rerr != nil {
		s.refuse(w, r, rerr)
		return Payload{}, false
	}
	return p, true
}

// failGate answers 500: a check that cannot read the store must not look like an approval.
func (s *Server) failGate(w http.ResponseWriter, kind GateKind, p Payload, err error) {
	s.log.Error("Gate store failed", "gate", string(kind), "canary", p.Canary(), "error", err.Error())
	reply(w, http.StatusInternalServerError, err.Error())
}
