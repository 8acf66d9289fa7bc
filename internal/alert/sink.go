package alert

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/notify"
)

// alertedReasons are the events a chat hears about, as Flagger alerts
// them: a new revision, a restart, a skipped analysis, a rollback with its
// numbers and a promotion. Each step's Advance is an event, not an alert.
var alertedReasons = map[string]bool{
	"NewRevision": true, "Restarted": true, "SkipAnalysis": true, "RollingBack": true, "Succeeded": true,
}

// gateHalt is how a closed confirm gate's event starts and what it says,
// "Halt podinfo.test advancement waiting for approval <webhook>"; a gate
// webhook with muteAlert keeps it out of alerts.
const (
	gateHaltPrefix = "Halt "
	gateHaltWords  = " waiting for "
)

// Alerts chooses the alert sinks of a canary's notifications: one per
// entry of analysis.alerts that wants the notification's severity, or the
// operator's global targets (-slack-url, -msteams-url) for a canary
// without alerts, as Flagger does.
type Alerts struct {
	// Providers reads AlertProviders (the informer cache).
	Providers client.Reader
	// Secrets reads the Secrets AlertProviders name.
	Secrets SecretReader
	Sender  *Sender
	// Cluster names the cluster in every message (-cluster-name).
	Cluster string
	// Global are the operator's targets.
	Global []Target
	// Recorder records a Warning event on the canary for a failed delivery.
	Recorder record.EventRecorder
}

// Sinks returns where n goes; none when n is no alert.
func (a *Alerts) Sinks(c *flaggerv1.Canary, n notify.Notification) []notify.Sink {
	if a == nil || !alerted(c, n) {
		return nil
	}
	owner := &flaggerv1.Canary{
		TypeMeta:   metav1.TypeMeta{APIVersion: flaggerv1.GroupVersion.String(), Kind: "Canary"},
		ObjectMeta: metav1.ObjectMeta{Name: c.Name, Namespace: c.Namespace, UID: c.UID, ResourceVersion: c.ResourceVersion},
	}
	var out []notify.Sink
	an := c.GetAnalysis()
	if an == nil || len(an.Alerts) == 0 {
		for _, t := range a.Global {
			out = append(out, &sink{alerts: a, canary: owner, name: "global " + t.Type, target: t})
		}
		return out
	}
	for _, al := range an.Alerts {
		if !Wanted(notify.Severity(al.Severity), n.Severity) {
			continue
		}
		ns := al.ProviderRef.Namespace
		if ns == "" {
			ns = c.Namespace
		}
		out = append(out, &sink{alerts: a, canary: owner, name: al.Name, provider: client.ObjectKey{Namespace: ns, Name: al.ProviderRef.Name}})
	}
	return out
}

// alerted tells whether n is an alert: one of alertedReasons, or a closed
// gate whose webhook does not mute its alerts.
func alerted(c *flaggerv1.Canary, n notify.Notification) bool {
	if alertedReasons[n.Reason] {
		return true
	}
	if !strings.HasPrefix(n.Message, gateHaltPrefix) || !strings.Contains(n.Message, gateHaltWords) {
		return false
	}
	if an := c.GetAnalysis(); an != nil {
		for _, w := range an.Webhooks {
			if w.MuteAlert && strings.HasSuffix(n.Message, " "+w.Name) {
				return false
			}
		}
	}
	return true
}

// sink delivers to one alert: its provider is read when the delivery
// runs, on a notify worker, never on the reconcile's path.
type sink struct {
	alerts   *Alerts
	canary   *flaggerv1.Canary
	name     string
	provider client.ObjectKey
	target   Target
}

func (s *sink) Kind() string { return "alert" }

func (s *sink) Name() string {
	if s.provider.Name == "" {
		return "alert " + s.name
	}
	return "alert " + s.name + " (AlertProvider " + s.provider.String() + ")"
}

// Deliver resolves the provider and sends the message; a failure is also
// a Warning event on the canary, never a failed check.
func (s *sink) Deliver(ctx context.Context, n notify.Notification) error {
	err := s.deliver(ctx, n)
	if err != nil && s.alerts.Recorder != nil {
		s.alerts.Recorder.Eventf(s.canary, corev1.EventTypeWarning, "AlertFailed", "%s not delivered: %v", s.Name(), err)
	}
	return err
}

func (s *sink) deliver(ctx context.Context, n notify.Notification) error {
	t := s.target
	if s.provider.Name != "" {
		p := &flaggerv1.AlertProvider{}
		if err := s.alerts.Providers.Get(ctx, s.provider, p); err != nil {
			return fmt.Errorf("read AlertProvider %s: %w", s.provider, err)
		}
		var err error
		if t, err = Resolve(ctx, s.alerts.Secrets, p); err != nil {
			return err
		}
	}
	sender := s.alerts.Sender
	if sender == nil {
		sender = &Sender{}
	}
	return sender.Send(ctx, t, MessageOf(n, s.alerts.Cluster))
}

// MessageOf turns a notification into a message: the event's words, then
// the cluster, the state of the release and the last run's checks with
// their values and thresholds.
func MessageOf(n notify.Notification, cluster string) Message {
	m := Message{Canary: n.Name, Namespace: n.Namespace, Text: n.Message, Severity: n.Severity}
	if cluster != "" {
		m.Fields = append(m.Fields, Field{Name: "Cluster", Value: cluster})
	}
	m.Fields = append(m.Fields,
		Field{Name: "Phase", Value: string(n.Phase)},
		Field{Name: "Canary weight", Value: strconv.Itoa(n.CanaryWeight) + "%"},
		Field{Name: "Failed checks", Value: strconv.Itoa(n.FailedChecks)})
	if n.Decision != "" && n.Decision != n.Message {
		m.Fields = append(m.Fields, Field{Name: "Last analysis", Value: n.Decision})
	}
	m.Fields = append(m.Fields, CheckFields(n.Checks)...)
	return m
}
