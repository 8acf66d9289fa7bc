package analysis

import (
	"fmt"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/levers"
)

// A lever is an observation like any other: the reconciler passes the
// requests found on the canary's annotations (Observation.Levers), and the
// step acts on each one it has not handled yet, recording it in
// status.levers with the same status write. A request survives a restart
// between the annotation and that write, and is never acted on twice.
//
// Abort and promote act on a release in progress (also when paused);
// retry on a Failed one; pause holds the release where it is, without
// running an analysis, until the annotation is removed. spec.suspend is a
// stronger stop: the operator does not touch a suspended canary at all,
// levers included.

// pullLevers handles the pending lever requests, abort first. It returns
// true when the step is done: a lever ended or restarted the release, or a
// pause holds it.
func (st *stepper) pullLevers() bool {
	reqs := st.obs.Levers
	for _, l := range []levers.Lever{levers.Abort, levers.Promote, levers.Retry} {
		r, ok := reqs[l]
		if !ok || st.handled(l, r) {
			continue
		}
		if st.pull(l, r) {
			return true
		}
	}
	return st.paused(reqs)
}

// handled tells whether request r of l was acted on already.
func (st *stepper) handled(l levers.Lever, r levers.Request) bool {
	h := levers.Handled(st.s.Levers, l)
	return h != nil && h.ID == r.ID
}

// pull acts on one request and records it; it returns true when the
// release ended or restarted.
func (st *stepper) pull(l levers.Lever, r levers.Request) bool {
	phase, by := st.s.Phase, orUnknown(r.RequestedBy)
	refuse := func(why string) bool {
		st.acknowledge(l, r, false, why)
		st.warnAs("Lever", "%s of %s requested by %s not applied: %s", l, st.c, by, why)
		return false
	}
	switch {
	case r.Invalid != "":
		return refuse(r.Invalid)
	case l == levers.Abort && !InRelease(phase):
		return refuse(fmt.Sprintf("no release is in progress (phase %s)", phase))
	case l == levers.Promote && phase != flaggerv1.CanaryPhaseProgressing && phase != flaggerv1.CanaryPhaseWaitingPromotion:
		return refuse(fmt.Sprintf("only a release under analysis can be promoted (phase %s)", phase))
	case l == levers.Retry && phase != flaggerv1.CanaryPhaseFailed:
		return refuse(fmt.Sprintf("only a failed release can be retried (phase %s)", phase))
	}
	switch l {
	case levers.Abort:
		st.acknowledge(l, r, true, "rolled back: all traffic to the primary")
		st.rollback("Rolling back %s abort requested by %s", st.c, by)
	case levers.Promote:
		st.acknowledge(l, r, true, "promoting: the remaining analysis skipped")
		st.infoAs("Lever", "Promotion of %s requested by %s: skipping the remaining analysis", st.c, by)
		st.startPromotion()
		st.requeue = st.c.GetInterval()
	case levers.Retry:
		st.acknowledge(l, r, true, "analysis restarted for revision "+st.obs.Target.TemplateHash)
		st.infoAs("Lever", "Retry of %s requested by %s: restarting the analysis", st.c, by)
		st.startRevision()
	}
	return true
}

// paused records a new pause or its end and tells whether the release is
// held.
func (st *stepper) paused(reqs map[levers.Lever]levers.Request) bool {
	r, requested := reqs[levers.Pause]
	inForce := st.s.Levers != nil && st.s.Levers.Pause != nil
	switch {
	case requested && !st.handled(levers.Pause, r):
		by := orUnknown(r.RequestedBy)
		if r.Invalid != "" {
			st.acknowledge(levers.Pause, r, false, r.Invalid)
			st.warnAs("Lever", "pause of %s requested by %s not applied: %s", st.c, by, r.Invalid)
			return false
		}
		st.acknowledge(levers.Pause, r, true, fmt.Sprintf("held at canary weight %d", st.s.CanaryWeight))
		st.infoAs("Lever", "Pause of %s requested by %s: held at canary weight %d", st.c, by, st.s.CanaryWeight)
	case !requested && inForce:
		if st.s.Levers.Pause.Applied {
			st.infoAs("Lever", "Resume of %s: the pause set by %s was lifted", st.c, orUnknown(st.s.Levers.Pause.RequestedBy))
		}
		st.s.Levers.Pause = nil
		return false
	case !requested || !st.s.Levers.Pause.Applied:
		return false
	}
	st.hold("paused by " + orUnknown(st.s.Levers.Pause.RequestedBy))
	return true
}

// acknowledge records request r of l in status.levers.
func (st *stepper) acknowledge(l levers.Lever, r levers.Request, applied bool, msg string) {
	if st.s.Levers == nil {
		st.s.Levers = &flaggerv1.LeverStatus{}
	}
	levers.SetHandled(st.s.Levers, l, &flaggerv1.LeverRecord{
		ID: r.ID, RequestedBy: r.RequestedBy, Time: st.now(), Applied: applied, Message: msg,
	})
}

func (st *stepper) infoAs(kind, format string, args ...any) {
	st.events = append(st.events, Event{Kind: kind, Message: fmt.Sprintf(format, args...)})
}

func (st *stepper) warnAs(kind, format string, args ...any) {
	st.events = append(st.events, Event{Kind: kind, Warning: true, Message: fmt.Sprintf(format, args...)})
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown client"
	}
	return s
}
