package alert

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/egress"
	"github.com/serin-dev/serin/internal/notify"
)

// receiver is a local webhook endpoint that records what it is sent and
// answers with the codes in replies, then 200.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
	paths   []string
	replies []int
}

func newReceiver(t *testing.T, replies ...int) *receiver {
	rc := &receiver{replies: replies}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.bodies, rc.headers, rc.paths = append(rc.bodies, b), append(rc.headers, r.Header.Clone()), append(rc.paths, r.URL.Path)
		code := http.StatusOK
		if len(rc.replies) > 0 {
			code, rc.replies = rc.replies[0], rc.replies[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) received() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.bodies)
}

func (rc *receiver) last(t *testing.T, into any) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bodies) == 0 {
		t.Fatal("the receiver got nothing")
	}
	if err := json.Unmarshal(rc.bodies[len(rc.bodies)-1], into); err != nil {
		t.Fatalf("the receiver got %s, not JSON: %v", rc.bodies[len(rc.bodies)-1], err)
	}
}

// rollback is a message with the numbers of a failed analysis run.
func rollback() Message {
	return Message{
		Canary: "podinfo", Namespace: "test", Severity: notify.SeverityError,
		Text: "Rolling back podinfo.test failed checks threshold reached 2",
		Fields: append([]Field{{Name: "Cluster", Value: "prod-eu"}}, CheckFields([]flaggerv1.CheckResult{
			{Name: "request-success-rate", Kind: "metric", Value: "91.3", Threshold: ">= 99", Message: "below the minimum"},
			{Name: "load-test", Kind: "rollout", Passed: true},
		})...),
	}
}

func fastSender() *Sender { return &Sender{FirstBackoff: time.Millisecond} }

func TestWantedFollowsFlaggersSeverityRules(t *testing.T) {
	tests := map[string]struct {
		filter, event notify.Severity
		want          bool
	}{
		"info receives info":           {notify.SeverityInfo, notify.SeverityInfo, true},
		"info receives error":          {notify.SeverityInfo, notify.SeverityError, true},
		"an empty filter is info":      {"", notify.SeverityWarn, true},
		"warn skips info":              {notify.SeverityWarn, notify.SeverityInfo, false},
		"warn receives warn and error": {notify.SeverityWarn, notify.SeverityError, true},
		"error skips warn":             {notify.SeverityError, notify.SeverityWarn, false},
		"error receives error":         {notify.SeverityError, notify.SeverityError, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Wanted(tc.filter, tc.event); got != tc.want {
				t.Errorf("Wanted(%q, %q) = %v, want %v", tc.filter, tc.event, got, tc.want)
			}
		})
	}
}

// slackPayload is the part of Slack's incoming-webhook message the tests
// read, as Slack documents it.
type slackPayload struct {
	Channel, Username string
	IconEmoji         string `json:"icon_emoji"`
	Attachments       []struct {
		Color      string
		AuthorName string `json:"author_name"`
		Text       string
		Fields     []struct{ Title, Value string }
	}
}

func TestSlackCompatibleServicesGetAnAttachmentWithTheNumbers(t *testing.T) {
	tests := map[string]struct {
		typ, wantPath, wantColor string
	}{
		"slack":                           {TypeSlack, "/hooks/T0/B0/x", "danger"},
		"discord at its Slack endpoint":   {TypeDiscord, "/api/webhooks/1/x/slack", "danger"},
		"rocket.chat with its own colour": {TypeRocket, "/hooks/x", "#FF0000"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rc := newReceiver(t)
			p := &flaggerv1.AlertProvider{Spec: flaggerv1.AlertProviderSpec{Type: tc.typ, Address: rc.URL + strings.TrimSuffix(tc.wantPath, "/slack"), Channel: "on-call"}}
			target, err := Resolve(context.Background(), nil, p)
			if err != nil {
				t.Fatal(err)
			}
			if err := fastSender().Send(context.Background(), target, rollback()); err != nil {
				t.Fatal(err)
			}
			var got slackPayload
			rc.last(t, &got)
			if rc.paths[0] != tc.wantPath || got.Channel != "on-call" || got.Username != "flagger" || len(got.Attachments) != 1 {
				t.Fatalf("got %s at %s, want one attachment for #on-call from flagger at %s", rc.bodies[0], rc.paths[0], tc.wantPath)
			}
			a := got.Attachments[0]
			if a.Color != tc.wantColor || a.AuthorName != "podinfo.test" || !strings.Contains(a.Text, "Rolling back") {
				t.Errorf("attachment %+v, want colour %s, author podinfo.test and the rollback text", a, tc.wantColor)
			}
			if len(a.Fields) != 3 || a.Fields[1].Title != "request-success-rate" || a.Fields[1].Value != "91.3 (threshold >= 99): below the minimum" {
				t.Errorf("fields %+v, want Cluster, then request-success-rate 91.3 (threshold >= 99): below the minimum, then load-test", a.Fields)
			}
		})
	}
}

func TestTeamsGetsAMessageCardWithFacts(t *testing.T) {
	rc := newReceiver(t)
	target := Target{Type: TypeMSTeams, Address: rc.URL}
	if err := fastSender().Send(context.Background(), target, rollback()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Type       string `json:"@type"`
		ThemeColor string
		Summary    string
		Sections   []struct {
			ActivityTitle, ActivitySubtitle string
			Facts                           []struct{ Name, Value string }
		}
	}
	rc.last(t, &got)
	if got.Type != "MessageCard" || got.ThemeColor != "FF0000" || got.Summary != "podinfo.test" || len(got.Sections) != 1 {
		t.Fatalf("got %s, want a red MessageCard about podinfo.test with one section", rc.bodies[0])
	}
	s := got.Sections[0]
	if !strings.HasPrefix(s.ActivityTitle, "Rolling back") || len(s.Facts) != 3 || s.Facts[1].Value != "91.3 (threshold >= 99): below the minimum" {
		t.Errorf("section %+v, want the rollback as title and the check's value against its threshold", s)
	}
}

func TestGoogleChatGetsTextAndACard(t *testing.T) {
	rc := newReceiver(t)
	m := rollback()
	m.Severity = notify.SeverityInfo
	if err := fastSender().Send(context.Background(), Target{Type: TypeGChat, Address: rc.URL}, m); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Text    string
		CardsV2 []struct {
			Card struct {
				Header   struct{ Title, Subtitle string }
				Sections []struct {
					Widgets []struct {
						DecoratedText struct{ TopLabel, Text string }
					}
				}
			}
		}
	}
	rc.last(t, &got)
	if !strings.HasPrefix(got.Text, "podinfo.test: Rolling back") || len(got.CardsV2) != 1 {
		t.Fatalf("got %s, want the text and one card", rc.bodies[0])
	}
	c := got.CardsV2[0].Card
	if c.Header.Subtitle != "podinfo.test" || len(c.Sections) != 1 || len(c.Sections[0].Widgets) != 3 ||
		c.Sections[0].Widgets[1].DecoratedText.TopLabel != "request-success-rate" || !strings.HasPrefix(c.Sections[0].Widgets[1].DecoratedText.Text, "91.3 (threshold >= 99)") {
		t.Errorf("card %+v, want podinfo.test as subtitle and one widget per fact with the numbers", c)
	}
}

func TestSendRetriesWhatMaySucceedLater(t *testing.T) {
	tests := map[string]struct {
		replies  []int
		wantErr  bool
		wantSent int
	}{
		"two 503s then ok":             {replies: []int{503, 503}, wantSent: 3},
		"a 429 then ok":                {replies: []int{429}, wantSent: 2},
		"a 404 is not retried":         {replies: []int{404}, wantErr: true, wantSent: 1},
		"five 500s exhaust four tries": {replies: []int{500, 500, 500, 500, 500}, wantErr: true, wantSent: 4},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, typ := range []string{TypeSlack, TypeMSTeams} {
				rc := newReceiver(t, tc.replies...)
				err := fastSender().Send(context.Background(), Target{Type: typ, Address: rc.URL}, rollback())
				if (err != nil) != tc.wantErr || rc.received() != tc.wantSent {
					t.Errorf("%s: error %v after %d posts, want error %v after %d", typ, err, rc.received(), tc.wantErr, tc.wantSent)
				}
			}
		})
	}
}

func TestSendGivesUpAtTheCallersDeadline(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer slow.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := (&Sender{}).Send(ctx, Target{Type: TypeSlack, Address: slow.URL}, rollback())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a receiver that never answers gave %v, want the deadline", err)
	}
}

func TestSendGoesThroughTheEgressGuard(t *testing.T) {
	rc := newReceiver(t)
	policy := egress.NewPolicy([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil)
	err := (&Sender{Policy: policy, FirstBackoff: time.Millisecond}).Send(context.Background(), Target{Type: TypeSlack, Address: rc.URL}, rollback())
	var denied *egress.DeniedError
	if !errors.As(err, &denied) || rc.received() != 0 {
		t.Errorf("a denied address gave %v with %d deliveries, want a DeniedError and none", err, rc.received())
	}

	proxy := newReceiver(t)
	err = (&Sender{Policy: policy}).Send(context.Background(), Target{Type: TypeSlack, Address: "http://127.0.0.9/hook", Proxy: "http://proxy.invalid:3128"}, rollback())
	if !errors.As(err, &denied) || proxy.received() != 0 {
		t.Errorf("a denied address behind a proxy gave %v, want a DeniedError before any connection", err)
	}
}

func TestTheTokenGoesOnlyToTheTargetsAddress(t *testing.T) {
	elsewhere := newReceiver(t)
	var redirected atomic.Int32
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirected.Add(1)
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			t.Errorf("the target got Authorization %q, want its bearer token", r.Header.Get("Authorization"))
		}
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	err := fastSender().Send(context.Background(), Target{Type: TypeMSTeams, Address: redirector.URL, Token: "s3cret"}, rollback())
	var status *StatusError
	if !errors.As(err, &status) || status.Code != http.StatusTemporaryRedirect || elsewhere.received() != 0 || redirected.Load() != 1 {
		t.Errorf("a redirect gave %v with %d posts elsewhere, want the 307 as a failure and nothing elsewhere", err, elsewhere.received())
	}
}

func TestSendUsesTheTargetsProxy(t *testing.T) {
	var asked atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Store(r.URL.String())
		w.WriteHeader(http.StatusOK)
	}))
	defer proxy.Close()
	target := Target{Type: TypeSlack, Address: "http://127.0.0.1:9/hooks/x", Proxy: proxy.URL}
	if err := fastSender().Send(context.Background(), target, rollback()); err != nil {
		t.Fatal(err)
	}
	if got, _ := asked.Load().(string); got != "http://127.0.0.1:9/hooks/x" {
		t.Errorf("the proxy was asked for %q, want the target's address", got)
	}
}

// An incoming-webhook address is a credential: errors, which end up in
// events and logs, never quote it.
func TestErrorsNeverQuoteTheAddress(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	address := down.URL + "/services/T000/B000/secret-part"
	down.Close()
	for _, typ := range []string{TypeSlack, TypeMSTeams} {
		err := fastSender().Send(context.Background(), Target{Type: typ, Address: address}, rollback())
		if err == nil || strings.Contains(err.Error(), "secret-part") || strings.Contains(err.Error(), down.URL) {
			t.Errorf("%s: a down receiver gave %v, want an error without the address", typ, err)
		}
	}
}
