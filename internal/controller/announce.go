package controller

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
	"github.com/serin-dev/serin/internal/notify"
)

// announce turns each decision into a log line, a Kubernetes event and a
// notification with the same words. None of them can block: the event
// recorder and the notifier both queue, and drop when full.
func (r *CanaryReconciler) announce(ctx context.Context, c *flaggerv1.Canary, events []analysis.Event) {
	if len(events) == 0 {
		return
	}
	log := ctrl.LoggerFrom(ctx)
	sinks := r.Webhooks.EventSinks(c)
	for _, e := range events {
		typ := corev1.EventTypeNormal
		if e.Warning {
			typ = corev1.EventTypeWarning
		}
		log.Info(e.Message, "canary", c.String(), "phase", c.Status.Phase, "weight", c.Status.CanaryWeight, "failedChecks", c.Status.FailedChecks)
		r.Recorder.Eventf(c, typ, e.Reason(), "%s", e.Message)
		n := r.notification(c, e, typ)
		all := sinks
		if r.Alerts != nil {
			all = append(slices.Clip(sinks), r.Alerts.Sinks(c, n)...)
		}
		if len(all) > 0 {
			r.Notifier.Notify(n, all...)
		}
	}
}

// notification describes an event with the canary's state, for receivers
// that explain it (chat alerts show the checks and their thresholds).
func (r *CanaryReconciler) notification(c *flaggerv1.Canary, e analysis.Event, eventType string) notify.Notification {
	n := notify.Notification{
		Name: c.Name, Namespace: c.Namespace, Phase: c.Status.Phase,
		CanaryWeight: c.Status.CanaryWeight, FailedChecks: c.Status.FailedChecks, Iterations: c.Status.Iterations,
		EventType: eventType, Severity: severity(e), Reason: e.Reason(), Message: e.Message, Time: r.Clock.Now(),
	}
	if la := c.Status.LastAnalysis; la != nil {
		n.Decision, n.Checks = la.Decision, slices.Clone(la.Checks)
	}
	return n
}

// severity ranks an event: a rollback or a failed release is an error,
// any other warning a warning, the rest information.
func severity(e analysis.Event) notify.Severity {
	switch {
	case e.Reason() == "RollingBack" || e.Reason() == "Failed":
		return notify.SeverityError
	case e.Warning:
		return notify.SeverityWarn
	}
	return notify.SeverityInfo
}
