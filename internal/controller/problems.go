package controller

import (
	"context"
	"errors"
	"net"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/serin-dev/serin/internal/analysis"
	"github.com/serin-dev/serin/internal/router"
)

// problem is a condition the user must act on; it becomes a Ready=False
// condition and a Warning event.
type problem struct {
	reason  string
	message string
	// stalled problems need a change of the Canary, its target or the
	// cluster: Stalled=True.
	stalled bool
	// terminal problems are not retried: only a change of the objects
	// involved (which the controller watches) can fix them.
	terminal bool
	// gone names what a release in progress lost ("target Deployment
	// podinfo was deleted"); such a release is rolled back.
	gone string
}

func (p *problem) Error() string { return p.message }

// asProblem unwraps a problem, or describes an unexpected error in words
// for people; the error itself goes to the log.
func asProblem(err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	if isMissingKind(err) {
		return &problem{reason: "MeshNotInstalled", message: err.Error(), stalled: true}
	}
	var unsupported *router.UnsupportedFieldError
	if errors.As(err, &unsupported) {
		return &problem{reason: "UnsupportedField", message: unsupported.Error(), stalled: true, terminal: true}
	}
	return &problem{reason: "ReconcileError", message: describe(err)}
}

// describe says what kind of failure err is, without its raw text.
func describe(err error) string {
	var netErr net.Error
	switch {
	case apierrors.IsForbidden(err):
		return "The operator is not allowed to read or change an object it needs: check its RBAC role. The operator log has the details; retrying."
	case apierrors.IsTimeout(err), apierrors.IsServerTimeout(err), apierrors.IsServiceUnavailable(err),
		apierrors.IsTooManyRequests(err), errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded):
		return "The Kubernetes API did not answer in time; retrying."
	case apierrors.IsInvalid(err):
		return "The Kubernetes API rejected a generated object as invalid. The operator log has the details; retrying."
	default:
		return "Reconciliation failed and will be retried. The operator log has the error."
	}
}

// handleProblem reports err on the canary. A release that lost its target
// or one of its configs is rolled back first: all traffic to the primary,
// before the report. Invalid configuration ends the reconcile with a
// terminal error (no retries until something changes), known problems are
// retried after an interval, and unexpected errors with backoff.
func (r *CanaryReconciler) handleProblem(ctx context.Context, s *scope, err error, persist func() error) (ctrl.Result, error) {
	p := asProblem(err)
	c := s.canary
	if p.gone != "" && s.router != nil && analysis.InRelease(c.Status.Phase) {
		if abortErr := r.abortRelease(ctx, s, p.gone, persist); abortErr != nil {
			return ctrl.Result{}, abortErr
		}
	}
	r.reportProblem(ctx, c, p)
	switch {
	case p.terminal:
		return ctrl.Result{}, reconcile.TerminalError(err)
	case p.reason == "ReconcileError":
		return ctrl.Result{}, err
	default:
		return ctrl.Result{RequeueAfter: c.GetInterval()}, nil
	}
}

// abortRelease fails a release whose target or config is gone: the
// status first, then the routes back to the primary, the target (if any)
// scaled down, then the messages.
func (r *CanaryReconciler) abortRelease(ctx context.Context, s *scope, why string, persist func() error) error {
	c := s.canary
	d := analysis.Abort(c, r.now(), why)
	previous := c.Status.Phase
	c.Status = d.Status
	read := c.ResourceVersion
	if err := persist(); err != nil {
		return err
	}
	_, err := r.convergeRoutes(ctx, s, statusSource(c, read))
	if err == nil && s.target != nil {
		err = r.scaleDown(ctx, s, persist)
	}
	r.announce(ctx, c, d.Events)
	r.Telemetry.Transition(c, previous)
	if err != nil {
		return err
	}
	calls, cancel := context.WithTimeout(ctx, r.stepTimeout())
	defer cancel()
	return r.callPostRollout(calls, s, persist)
}
