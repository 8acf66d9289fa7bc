package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// The chat services an AlertProvider names, each with a receiver of its own.
var chatTypes = []string{"slack", "msteams", "discord", "rocket", "gchat"}

// alertInterval is the analysis interval of the alerted releases; a step
// may come later than one interval after the previous one by at most
// stepSlack (status times have whole seconds, and the machine is shared).
const (
	alertInterval = 2 * time.Second
	stepSlack     = 3 * time.Second
	// gchatToken is the bearer token of the Google Chat provider's Secret.
	gchatToken = "gchat-webhook-token"
	// alertCluster is the operator's -cluster-name, a fact of every alert.
	alertCluster = "e2e-cluster"
)

// A healthy release with alerts to all five chat services, a receiver
// that hangs and one that is down: each service gets the new revision and
// the promotion in its own format, with the weight, the failed checks and
// each check's value against its threshold, and neither broken receiver
// delays a step.
func TestAlertsOfAPromotionReachEveryChatServiceAndNoStepWaitsForThem(t *testing.T) {
	t.Parallel()
	a := newAlertedRelease(t)
	a.serve(framework.Traffic{RPS: 20, SuccessRatio: 1, Latency: 20 * time.Millisecond})
	a.deploy("stefanprodan/podinfo:3.1.1")
	c := waitForPhase(t, a.ns, "podinfo", flaggerv1.CanaryPhaseSucceeded, 90*time.Second)

	subject := "podinfo." + a.ns
	newRevision, promoted := "New revision detected! Scaling up "+subject, "Promotion completed! Scaling down "+subject
	for _, typ := range chatTypes {
		alerts := a.waitForAlerts(typ, "releases", newRevision, promoted)
		assertFacts(t, typ, alerts[newRevision], map[string]string{
			"Cluster": alertCluster, "Phase": string(flaggerv1.CanaryPhaseProgressing), "Canary weight": "0%", "Failed checks": "0"})
		done := alerts[promoted]
		assertFacts(t, typ, done, map[string]string{
			"Cluster": alertCluster, "Phase": string(flaggerv1.CanaryPhaseSucceeded), "Canary weight": "0%", "Failed checks": "0"})
		// The last run's numbers, as status.lastAnalysis recorded them.
		assertCheckFacts(t, typ, done, c.Status.LastAnalysis)
		if got := done.facts["request-success-rate"]; got != "100.00 (threshold >= 99)" {
			t.Errorf("%s: the promotion's success rate fact %q, want 100.00 (threshold >= 99)", typ, got)
		}
		if done.danger { // Google Chat cards have no colour
			t.Errorf("%s: the promotion is coloured as an error", typ)
		}
	}
	a.assertBrokenReceiversDelayedNoStep(c)
	// The error-only alert heard nothing of a release without errors.
	if got := a.chats["slack"].texts("errors"); len(got) != 0 {
		t.Errorf("the error-only alert received %q", got)
	}
	a.assertNoErrors()
}

// A failing release with the same alerts: each service gets the new
// revision and the rollback, which says how many checks failed and shows
// the failing check's value against its threshold; the error-only alert
// gets the rollback alone; the broken receivers delay no step.
func TestAlertsOfARollbackShowTheFailedCheckAgainstItsThresholdAndNoStepWaitsForThem(t *testing.T) {
	t.Parallel()
	a := newAlertedRelease(t)
	a.serve(framework.Traffic{RPS: 20, SuccessRatio: 0.6, Latency: 20 * time.Millisecond})
	a.deploy("stefanprodan/podinfo:3.0.2")
	c := waitForPhase(t, a.ns, "podinfo", flaggerv1.CanaryPhaseFailed, 90*time.Second)

	subject := "podinfo." + a.ns
	newRevision, rollback := "New revision detected! Scaling up "+subject, "Rolling back "+subject+" failed checks threshold reached 2"
	for _, typ := range chatTypes {
		alerts := a.waitForAlerts(typ, "releases", newRevision, rollback)
		rb := alerts[rollback]
		assertFacts(t, typ, rb, map[string]string{"Cluster": alertCluster, "Failed checks": "2", "Canary weight": "0%"})
		assertCheckFacts(t, typ, rb, c.Status.LastAnalysis)
		if got := rb.facts["request-success-rate"]; !strings.HasPrefix(got, "60.00 (threshold >= 99): ") {
			t.Errorf("%s: the rollback's success rate fact %q, want 60.00 (threshold >= 99) and why it failed", typ, got)
		}
		if typ != "gchat" && !rb.danger { // Google Chat cards have no colour
			t.Errorf("%s: the rollback is not coloured as an error", typ)
		}
	}
	// Severity error: the rollback, not the new revision.
	a.waitForAlerts("slack", "errors", rollback)
	if got := a.chats["slack"].texts("errors"); len(got) != 1 {
		t.Errorf("the error-only alert received %q, want the rollback alone", got)
	}
	a.assertBrokenReceiversDelayedNoStep(c)
	a.assertNoErrors()
}

// alertedRelease is the analysis canary with an alert per chat service
// (the Google Chat one's address and token from a Secret), an error-only
// Slack alert, one to a receiver that hangs and one to a closed port.
type alertedRelease struct {
	*release
	// chats are the receivers by provider type.
	chats map[string]*chatReceiver
	hang  *hangingReceiver
	// downAddress is the closed port's URL, which no event may quote.
	downAddress string
}

func newAlertedRelease(t *testing.T) *alertedRelease {
	a := &alertedRelease{chats: map[string]*chatReceiver{}, hang: newHangingReceiver(t), downAddress: closedPortURL(t)}
	for _, typ := range chatTypes {
		a.chats[typ] = newChatReceiver(t, typ)
	}
	alerts := []any{}
	for _, name := range append(slices.Clone(chatTypes), "hanging", "down") {
		alerts = append(alerts, map[string]any{"name": name, "severity": "info", "providerRef": map[string]any{"name": name}})
	}
	alerts = append(alerts, map[string]any{"name": "errors-only", "severity": "error", "providerRef": map[string]any{"name": "slack-errors"}})
	a.release = newRelease(t, []string{"--cluster-name=" + alertCluster}, func(o map[string]any) {
		an := o["spec"].(map[string]any)["analysis"].(map[string]any)
		an["interval"], an["stepWeight"], an["maxWeight"], an["threshold"] = alertInterval.String(), int64(25), int64(50), int64(2)
		an["alerts"] = alerts
	})
	a.createProviders()
	return a
}

// createProviders creates the AlertProviders the canary's alerts name; the
// operator reads them when an alert goes out, after the new revision.
func (a *alertedRelease) createProviders() {
	ctx := context.Background()
	provider := func(name, typ string, spec flaggerv1.AlertProviderSpec) *flaggerv1.AlertProvider {
		spec.Type = typ
		return &flaggerv1.AlertProvider{ObjectMeta: metav1.ObjectMeta{Namespace: a.ns, Name: name}, Spec: spec}
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: a.ns, Name: "gchat-webhook"},
		StringData: map[string]string{"address": a.chats["gchat"].srv.URL + "/v1/spaces/AAAA/messages", "token": gchatToken}}
	objs := []client.Object{secret,
		provider("slack", "slack", flaggerv1.AlertProviderSpec{Address: a.chats["slack"].srv.URL + "/services/T0/B0/X", Channel: "releases", Username: "serin"}),
		provider("slack-errors", "slack", flaggerv1.AlertProviderSpec{Address: a.chats["slack"].srv.URL + "/services/T0/B1/Y", Channel: "errors", Username: "serin"}),
		provider("msteams", "msteams", flaggerv1.AlertProviderSpec{Address: a.chats["msteams"].srv.URL + "/webhookb2/abc"}),
		provider("discord", "discord", flaggerv1.AlertProviderSpec{Address: a.chats["discord"].srv.URL + "/api/webhooks/1/abc", Channel: "releases", Username: "serin"}),
		provider("rocket", "rocket", flaggerv1.AlertProviderSpec{Address: a.chats["rocket"].srv.URL + "/hooks/xyz", Channel: "releases", Username: "serin"}),
		provider("gchat", "gchat", flaggerv1.AlertProviderSpec{SecretRef: &corev1.LocalObjectReference{Name: "gchat-webhook"}}),
		provider("hanging", "slack", flaggerv1.AlertProviderSpec{Address: a.hang.srv.URL + "/services/T0/B2/Z"}),
		provider("down", "msteams", flaggerv1.AlertProviderSpec{Address: a.downAddress}),
	}
	for _, o := range objs {
		if err := a.e.Client.Create(ctx, o); err != nil {
			a.t.Fatalf("create %s: %v", o.GetName(), err)
		}
	}
}

// waitForAlerts waits until the receiver of typ has the alerts with texts
// on channel (ignored by Teams and Google Chat) and returns them by text,
// each checked against the format of typ.
func (a *alertedRelease) waitForAlerts(typ, channel string, texts ...string) map[string]chatAlert {
	a.t.Helper()
	rcv := a.chats[typ]
	framework.Eventually(a.t, 20*time.Second, fmt.Sprintf("the %s receiver to get %q", typ, texts), func(context.Context) (bool, string) {
		got := rcv.texts(channel)
		for _, want := range texts {
			if !slices.Contains(got, want) {
				return false, fmt.Sprintf("received %q", got)
			}
		}
		return true, ""
	})
	out := map[string]chatAlert{}
	for _, al := range rcv.alerts() {
		if al.subject != "podinfo."+a.ns {
			a.t.Errorf("%s: %q names the canary %q, want podinfo.%s", typ, al.text, al.subject, a.ns)
		}
		if al.channel == channel || al.channel == "" {
			out[al.text] = al
		}
	}
	for _, p := range rcv.posts() {
		a.assertRequest(typ, p)
	}
	return out
}

// assertRequest checks what every service's request has in common: the
// service's path (Discord's Slack-compatible endpoint), JSON, and the
// Secret's token to the Google Chat address only.
func (a *alertedRelease) assertRequest(typ string, p chatPost) {
	a.t.Helper()
	if p.contentType != "application/json" {
		a.t.Errorf("%s: Content-Type %q, want application/json", typ, p.contentType)
	}
	wantAuthz := ""
	switch typ {
	case "discord":
		if p.path != "/api/webhooks/1/abc/slack" {
			a.t.Errorf("discord: posted to %s, want the webhook's Slack-compatible endpoint /api/webhooks/1/abc/slack", p.path)
		}
	case "gchat":
		wantAuthz = "Bearer " + gchatToken
		if p.path != "/v1/spaces/AAAA/messages" {
			a.t.Errorf("gchat: posted to %s, want the Secret's address", p.path)
		}
	}
	if p.authz != wantAuthz {
		a.t.Errorf("%s: Authorization %q, want %q", typ, p.authz, wantAuthz)
	}
}

// assertBrokenReceiversDelayedNoStep checks, from the operator's own
// step times in status.history, that no step of the release waited for
// the hanging receiver (which had an alert at the new revision, 15 s
// before its delivery times out) or the closed port (retried for seconds);
// and that each failed delivery is a Warning event and a failed count.
func (a *alertedRelease) assertBrokenReceiversDelayedNoStep(c *flaggerv1.Canary) {
	t := a.t
	t.Helper()
	if a.hang.calls() == 0 {
		t.Fatal("the hanging receiver was never called: the timing below proves nothing")
	}
	var steps []flaggerv1.HistoryRecord
	for _, h := range c.Status.History {
		if h.Revision == c.Status.LastAppliedSpec {
			steps = append(steps, h)
		}
	}
	// The new revision, an analysis run and the end, at least.
	if len(steps) < 3 {
		t.Fatalf("%d steps of the release in status.history, want at least 3: %+v", len(steps), c.Status.History)
	}
	for i := 1; i < len(steps); i++ {
		gap := steps[i].Time.Sub(steps[i-1].Time.Time)
		if gap > alertInterval+stepSlack {
			t.Errorf("step %d (%s, weight %d, %q) came %s after the previous one, more than the interval %s + %s",
				i, steps[i].Phase, steps[i].CanaryWeight, steps[i].Decision, gap, alertInterval, stepSlack)
		}
	}
	for _, name := range []string{"down", "hanging"} {
		prefix := fmt.Sprintf("alert %s (AlertProvider %s/%s) not delivered: ", name, a.ns, name)
		msg := waitForWarning(t, a.ns, "AlertFailed", prefix, 30*time.Second)
		if u := strings.TrimPrefix(a.downAddress, "http://"); strings.Contains(msg, u) || strings.Contains(msg, a.hang.srv.URL) {
			t.Errorf("the AlertFailed event quotes the receiver's address: %q", msg)
		}
	}
	framework.Eventually(t, 10*time.Second, "the failed deliveries in serin_notifications_total", func(ctx context.Context) (bool, string) {
		failed, err := a.op.Metric(ctx, "serin_notifications_total", map[string]string{"kind": "alert", "result": "failed"})
		if err != nil {
			return false, err.Error()
		}
		delivered, err := a.op.Metric(ctx, "serin_notifications_total", map[string]string{"kind": "alert", "result": "delivered"})
		if err != nil {
			return false, err.Error()
		}
		// Two alerts to each of the five services, the hanging and the
		// closed port; the error-only alert may add one delivery.
		return failed >= 2 && delivered >= 10, fmt.Sprintf("failed %v (want >= 2), delivered %v (want >= 10)", failed, delivered)
	})
}

// waitForWarning waits for a Warning event of reason whose message starts
// with prefix, and returns the message.
func waitForWarning(t *testing.T, ns, reason, prefix string, timeout time.Duration) string {
	t.Helper()
	var msg string
	framework.Eventually(t, timeout, "a Warning event "+reason+" "+prefix, func(ctx context.Context) (bool, string) {
		var events corev1.EventList
		if err := framework.Get().Client.List(ctx, &events, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, ev := range events.Items {
			if ev.Type == corev1.EventTypeWarning && ev.Reason == reason {
				if strings.HasPrefix(ev.Message, prefix) {
					msg = ev.Message
					return true, ""
				}
				seen = append(seen, ev.Message)
			}
		}
		return false, fmt.Sprintf("Warning %s events %q", reason, seen)
	})
	return msg
}

// assertFacts checks the named facts of an alert.
func assertFacts(t *testing.T, typ string, al chatAlert, want map[string]string) {
	t.Helper()
	for name, v := range want {
		if got, ok := al.facts[name]; !ok || got != v {
			t.Errorf("%s: %q has fact %s = %q, want %q (facts %q)", typ, al.text, name, got, v, al.facts)
		}
	}
}

// assertCheckFacts checks that an alert shows each check of the analysis
// run as the status recorded it: the value against the threshold, and why
// a failed check failed.
func assertCheckFacts(t *testing.T, typ string, al chatAlert, run *flaggerv1.AnalysisRecord) {
	t.Helper()
	if run == nil || len(run.Checks) == 0 {
		t.Fatalf("status.lastAnalysis has no checks: %+v", run)
	}
	for _, c := range run.Checks {
		want := c.Value + " (threshold " + c.Threshold + ")"
		if !c.Passed && c.Message != "" {
			want += ": " + c.Message
		}
		if got := al.facts[c.Name]; got != want {
			t.Errorf("%s: %q shows check %s as %q, want %q", typ, al.text, c.Name, got, want)
		}
	}
}

// chatPost is one request a chat receiver got.
type chatPost struct {
	path, authz, contentType string
	body                     []byte
}

// chatReceiver is a chat service's incoming webhook on loopback.
type chatReceiver struct {
	t *testing.T
	// typ is the provider type whose format the receiver expects.
	typ string
	srv *httptest.Server
	mu  sync.Mutex
	got []chatPost
}

func newChatReceiver(t *testing.T, typ string) *chatReceiver {
	r := &chatReceiver{t: t, typ: typ}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, chatPost{path: req.URL.Path, authz: req.Header.Get("Authorization"), contentType: req.Header.Get("Content-Type"), body: body})
		r.mu.Unlock()
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *chatReceiver) posts() []chatPost {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// alerts parses every post in the format of the receiver's service.
func (r *chatReceiver) alerts() []chatAlert {
	var out []chatAlert
	for _, p := range r.posts() {
		out = append(out, parseChatAlert(r.t, r.typ, p.body))
	}
	return out
}

// texts are the alerts' texts on channel (any, for Teams and Google Chat).
func (r *chatReceiver) texts(channel string) []string {
	var out []string
	for _, al := range r.alerts() {
		if al.channel == channel || al.channel == "" {
			out = append(out, al.text)
		}
	}
	return out
}

// hangingReceiver answers nothing for 30 s, or until the test ends.
type hangingReceiver struct {
	srv  *httptest.Server
	done chan struct{}
	mu   sync.Mutex
	n    int
}

func newHangingReceiver(t *testing.T) *hangingReceiver {
	h := &hangingReceiver{done: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.n++
		h.mu.Unlock()
		select {
		case <-h.done:
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(h.srv.Close)
	// Runs before srv.Close: let the hanging handlers return.
	t.Cleanup(func() { close(h.done) })
	return h
}

func (h *hangingReceiver) calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// closedPortURL is the URL of a loopback port nobody listens on.
func closedPortURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr + "/webhookb2/down"
}
