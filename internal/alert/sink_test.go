package alert

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/notify"
)

func canaryWithAlerts(alerts ...flaggerv1.CanaryAlert) *flaggerv1.Canary {
	return &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test"},
		Spec: flaggerv1.CanarySpec{Analysis: &flaggerv1.CanaryAnalysis{Alerts: alerts, Webhooks: []flaggerv1.CanaryWebhook{
			{Name: "gate-muted", Type: flaggerv1.ConfirmPromotionHook, MuteAlert: true},
			{Name: "gate-loud", Type: flaggerv1.ConfirmRolloutHook},
		}}},
	}
}

func TestSinksFollowSeverityReasonsAndMuteAlert(t *testing.T) {
	c := canaryWithAlerts(
		flaggerv1.CanaryAlert{Name: "on-call", Severity: "error", ProviderRef: flaggerv1.CrossNamespaceObjectReference{Name: "pager"}},
		flaggerv1.CanaryAlert{Name: "team", ProviderRef: flaggerv1.CrossNamespaceObjectReference{Name: "chat", Namespace: "shared"}},
	)
	a := &Alerts{Global: []Target{{Type: TypeSlack, Address: "http://global.test/"}}}
	tests := map[string]struct {
		n    notify.Notification
		want []string
	}{
		"a rollback goes to both":         {notify.Notification{Reason: "RollingBack", Severity: notify.SeverityError}, []string{"alert on-call (AlertProvider test/pager)", "alert team (AlertProvider shared/chat)"}},
		"a promotion goes to info":        {notify.Notification{Reason: "Succeeded", Severity: notify.SeverityInfo}, []string{"alert team (AlertProvider shared/chat)"}},
		"an advance is no alert":          {notify.Notification{Reason: "Advance", Severity: notify.SeverityInfo}, nil},
		"a muted gate is no alert":        {notify.Notification{Reason: "Halt", Message: "Halt podinfo.test advancement waiting for promotion approval gate-muted"}, nil},
		"another gate is alerted":         {notify.Notification{Reason: "Halt", Message: "Halt podinfo.test advancement waiting for approval gate-loud"}, []string{"alert team (AlertProvider shared/chat)"}},
		"a failed check halt is no alert": {notify.Notification{Reason: "Halt", Message: "Halt podinfo.test advancement request-success-rate 91 < 99"}, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, s := range a.Sinks(c, tc.n) {
				got = append(got, s.Name())
			}
			if strings.Join(got, ";") != strings.Join(tc.want, ";") {
				t.Errorf("sinks %q, want %q", got, tc.want)
			}
		})
	}
	if got := a.Sinks(canaryWithAlerts(), notify.Notification{Reason: "Succeeded"}); len(got) != 1 || got[0].Name() != "alert global slack" {
		t.Errorf("a canary without alerts got %v, want the global target", got)
	}
}

// A delivery reads the AlertProvider and its Secret when it runs, posts
// the event with its numbers, and a failure becomes a Warning event.
func TestSinkResolvesTheProviderAndReportsFailures(t *testing.T) {
	rc := newReceiver(t)
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = flaggerv1.AddToScheme(s)
	cl := fake.NewClientBuilder().WithScheme(s).WithObjects(
		&flaggerv1.AlertProvider{ObjectMeta: metav1.ObjectMeta{Name: "chat", Namespace: "test"},
			Spec: flaggerv1.AlertProviderSpec{Type: TypeMSTeams, SecretRef: &corev1.LocalObjectReference{Name: "hook"}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: "test"}, Data: map[string][]byte{"address": []byte(rc.URL)}},
	).Build()
	events := record.NewFakeRecorder(4)
	a := &Alerts{Providers: cl, Secrets: clientSecrets{cl}, Sender: fastSender(), Cluster: "prod-eu", Recorder: events}
	c := canaryWithAlerts(
		flaggerv1.CanaryAlert{Name: "team", ProviderRef: flaggerv1.CrossNamespaceObjectReference{Name: "chat"}},
		flaggerv1.CanaryAlert{Name: "gone", ProviderRef: flaggerv1.CrossNamespaceObjectReference{Name: "missing"}},
	)
	n := notify.Notification{Name: "podinfo", Namespace: "test", Reason: "RollingBack", Severity: notify.SeverityError, Phase: flaggerv1.CanaryPhaseProgressing,
		CanaryWeight: 20, FailedChecks: 2, Message: "Rolling back podinfo.test failed checks threshold reached 2",
		Checks: []flaggerv1.CheckResult{{Name: "request-success-rate", Kind: "metric", Value: "91.30", Threshold: ">= 99"}}}
	sinks := a.Sinks(c, n)
	if len(sinks) != 2 {
		t.Fatalf("%d sinks, want 2", len(sinks))
	}
	if err := sinks[0].Deliver(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	body := string(rc.bodies[0])
	for _, want := range []string{`"name":"Cluster","value":"prod-eu"`, `"name":"Canary weight","value":"20%"`, `"name":"request-success-rate","value":"91.30 (threshold \u003e= 99)"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the card %s lacks %s", body, want)
		}
	}
	if err := sinks[1].Deliver(context.Background(), n); err == nil {
		t.Fatal("a missing AlertProvider was delivered to")
	}
	if e := <-events.Events; !strings.HasPrefix(e, "Warning AlertFailed alert gone (AlertProvider test/missing) not delivered") {
		t.Errorf("event %q, want a Warning naming the alert", e)
	}
}
