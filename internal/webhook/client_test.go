package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/egress"
	"github.com/serin-dev/serin/internal/notify"
)

// hookServer is a webhook receiver that replies with the statuses it is
// given, in turn, and records what it receives.
type hookServer struct {
	statuses []int  // replies, in turn; the last one repeats; 200 when empty
	body     string // body of every reply
	block    bool   // wait for the caller to give up instead of replying
	// contentType of every reply; sniffed from the body when empty.
	contentType string

	mu     sync.Mutex
	bodies [][]byte
	types  []string
}

func newHookServer(t *testing.T, h *hookServer) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, body)
	h.types = append(h.types, r.Header.Get("Content-Type"))
	n := len(h.bodies)
	h.mu.Unlock()
	if h.block {
		<-r.Context().Done()
		return
	}
	status := http.StatusOK
	if len(h.statuses) > 0 {
		status = h.statuses[min(n, len(h.statuses))-1]
	}
	if h.contentType != "" {
		w.Header().Set("Content-Type", h.contentType)
	}
	if status >= 300 && status < 400 {
		w.Header().Set("Location", "http://169.254.169.254/latest/meta-data/")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, h.body)
}

func (h *hookServer) calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies)
}

// newCanary returns the canary podinfo.test, Progressing, with webhooks.
func newCanary(hooks ...flaggerv1.CanaryWebhook) *flaggerv1.Canary {
	return &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test"},
		Spec: flaggerv1.CanarySpec{
			TargetRef: flaggerv1.TargetReference{Kind: "Deployment", Name: "podinfo"},
			Analysis:  &flaggerv1.CanaryAnalysis{StepWeight: 10, Webhooks: hooks},
		},
		Status: flaggerv1.CanaryStatus{Phase: flaggerv1.CanaryPhaseProgressing},
	}
}

func metadata(kv ...string) *map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &m
}

func TestRunSendsThePayload(t *testing.T) {
	cases := map[string]struct {
		metadata *map[string]string // the webhook's metadata
		want     string             // the JSON the webhook receives
	}{
		"with metadata": {
			metadata: metadata("type", "bash", "cmd", "curl -s http://podinfo-canary.test:9898/"),
			want:     `{"name":"podinfo","namespace":"test","phase":"Progressing","checksum":"5d8f7c","metadata":{"cmd":"curl -s http://podinfo-canary.test:9898/","type":"bash"}}`},
		"without metadata": {
			want: `{"name":"podinfo","namespace":"test","phase":"Progressing","checksum":"5d8f7c"}`},
		"with empty metadata": {
			metadata: metadata(),
			want:     `{"name":"podinfo","namespace":"test","phase":"Progressing","checksum":"5d8f7c"}`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := &hookServer{}
			url := newHookServer(t, h)
			canary := newCanary(flaggerv1.CanaryWebhook{Name: "acceptance", Type: flaggerv1.PreRolloutHook, URL: url, Metadata: tc.metadata})

			got := (&Client{}).Run(context.Background(), canary, flaggerv1.PreRolloutHook, "5d8f7c")

			if len(got) != 1 || got[0].Err != nil {
				t.Fatalf("results = %+v, want one success", got)
			}
			if h.calls() != 1 || h.types[0] != "application/json" {
				t.Fatalf("webhook got %d calls with content types %q, want one JSON call", h.calls(), h.types)
			}
			assertJSON(t, h.bodies[0], tc.want)
		})
	}
}

func TestRunStatus(t *testing.T) {
	cases := map[string]struct {
		status      int    // the webhook's reply
		body        string // the reply's body
		wantErr     string // a part of the expected error; empty for success
		notWant     string // what the error must not contain
		contentType string // of the reply; sniffed when empty
	}{
		"200 succeeds":         {status: 200},
		"201 succeeds":         {status: 201},
		"202 succeeds":         {status: 202},
		"203 fails":            {status: 203, wantErr: "replied 203 Non-Authoritative Information"},
		"400 fails":            {status: 400, body: "missing metadata\n", wantErr: "webhook gate replied 400 Bad Request: missing metadata"},
		"403 of a closed gate": {status: 403, body: "Forbidden", wantErr: "replied 403 Forbidden: Forbidden"},
		"500 fails":            {status: 500, body: "command failed", wantErr: "replied 500 Internal Server Error: command failed"},
		"a long body is cut":   {status: 500, body: strings.Repeat("x", 300) + "END", wantErr: ": " + strings.Repeat("x", egress.SummaryLength) + "…", notWant: strings.Repeat("x", egress.SummaryLength+1)},
		"a huge body is cut":   {status: 500, body: strings.Repeat("y", 5<<20), wantErr: ": " + strings.Repeat("y", egress.SummaryLength) + "…", notWant: strings.Repeat("y", egress.SummaryLength+1)},
		"a JSON body is not quoted": {status: 500, body: `{"access_token":"s3cr3t"}`, contentType: "application/json",
			wantErr: "replied 500 Internal Server Error: (application/json reply not shown)", notWant: "s3cr3t"},
		"control characters are not quoted": {status: 403, body: "closed\x1b[2J\r\nFAKE LOG LINE", wantErr: "replied 403 Forbidden: closed [2J FAKE LOG LINE"},
		"a redirect is a failure":           {status: 302, body: "see http://169.254.169.254/", wantErr: "replied 302 Found: redirects are not followed", notWant: "169.254"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			url := newHookServer(t, &hookServer{statuses: []int{tc.status}, body: tc.body, contentType: tc.contentType})
			canary := newCanary(flaggerv1.CanaryWebhook{Name: "gate", Type: flaggerv1.ConfirmRolloutHook, URL: url})

			got := (&Client{}).Run(context.Background(), canary, flaggerv1.ConfirmRolloutHook, "")

			if len(got) != 1 || got[0].StatusCode != tc.status || got[0].Name != "gate" || got[0].Type != flaggerv1.ConfirmRolloutHook {
				t.Fatalf("results = %+v, want one for gate with status %d", got, tc.status)
			}
			err := got[0].Err
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tc.wantErr)
			}
			if err != nil && tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
				t.Errorf("error = %v, want it without %q", err, tc.notWant)
			}
		})
	}
}

func TestRunCallsTheHooksOfTheTypeInOrder(t *testing.T) {
	h := &hookServer{}
	url := newHookServer(t, h)
	canary := newCanary(
		flaggerv1.CanaryWebhook{Name: "untyped", URL: url + "/a"},
		flaggerv1.CanaryWebhook{Name: "gate", Type: flaggerv1.ConfirmPromotionHook, URL: url + "/b"},
		flaggerv1.CanaryWebhook{Name: "load", Type: flaggerv1.RolloutHook, URL: url + "/c"},
		flaggerv1.CanaryWebhook{Name: "events", Type: flaggerv1.EventHook, URL: url + "/d"},
	)

	got := (&Client{}).Run(context.Background(), canary, flaggerv1.RolloutHook, "abc")

	var names []string
	for _, r := range got {
		names = append(names, string(r.Type)+"/"+r.Name)
	}
	if want := []string{"rollout/untyped", "rollout/load"}; !reflect.DeepEqual(names, want) {
		t.Errorf("results = %v, want %v", names, want)
	}
	if h.calls() != 2 {
		t.Errorf("webhooks called %d times, want 2", h.calls())
	}
}

func TestRunWithoutAnalysisCallsNothing(t *testing.T) {
	canary := newCanary()
	canary.Spec.Analysis = nil
	if got := (&Client{}).Run(context.Background(), canary, flaggerv1.RolloutHook, ""); got != nil {
		t.Errorf("results = %+v, want none", got)
	}
}

func TestRunHonoursTheTimeout(t *testing.T) {
	h := &hookServer{block: true}
	url := newHookServer(t, h)
	canary := newCanary(flaggerv1.CanaryWebhook{Name: "slow", URL: url, Timeout: "100ms"})

	start := time.Now()
	got := (&Client{}).Run(context.Background(), canary, flaggerv1.RolloutHook, "")
	elapsed := time.Since(start)

	if len(got) != 1 || got[0].Err == nil || !strings.Contains(got[0].Err.Error(), "call webhook slow: no reply within the timeout of 100ms") {
		t.Fatalf("results = %+v, want a timeout", got)
	}
	if strings.Contains(got[0].Err.Error(), url) {
		t.Errorf("error %q quotes the webhook URL, which may hold a secret", got[0].Err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("call took %v, want about 100ms", elapsed)
	}
}

func TestRunRetries(t *testing.T) {
	cases := map[string]struct {
		statuses   []int // the webhook's replies, in turn
		retries    int   // the webhook's retries
		wantCalls  int   // calls the webhook gets
		wantStatus int   // status of the result
		wantErr    bool  // whether the result is a failure
	}{
		"fails twice then succeeds with two retries": {
			statuses: []int{500, 503, 200}, retries: 2, wantCalls: 3, wantStatus: 200},
		"fails three times with two retries": {
			statuses: []int{500, 502, 504, 200}, retries: 2, wantCalls: 3, wantStatus: 504, wantErr: true},
		"without retries fails at once": {
			statuses: []int{500, 200}, wantCalls: 1, wantStatus: 500, wantErr: true},
		"a 4xx is not retried": {
			statuses: []int{403, 200}, retries: 2, wantCalls: 1, wantStatus: 403, wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := &hookServer{statuses: tc.statuses}
			url := newHookServer(t, h)
			canary := newCanary(flaggerv1.CanaryWebhook{Name: "flaky", URL: url, Retries: tc.retries})

			got := (&Client{}).Run(context.Background(), canary, flaggerv1.RolloutHook, "")

			if len(got) != 1 || got[0].StatusCode != tc.wantStatus || (got[0].Err != nil) != tc.wantErr {
				t.Errorf("results = %+v, want status %d and failure %v", got, tc.wantStatus, tc.wantErr)
			}
			if h.calls() != tc.wantCalls {
				t.Errorf("webhook called %d times, want %d", h.calls(), tc.wantCalls)
			}
		})
	}
}

// Each attempt's timeout leaves the request time to reach the server on a
// loaded machine (at 50 ms, an attempt could give up before the server had
// read it); the server's handler runs apart from the client, so its count
// is awaited rather than read at once.
func TestRunRetriesTransportErrors(t *testing.T) {
	h := &hookServer{block: true}
	url := newHookServer(t, h)
	canary := newCanary(flaggerv1.CanaryWebhook{Name: "slow", URL: url, Timeout: "500ms", Retries: 1})

	got := (&Client{}).Run(context.Background(), canary, flaggerv1.RolloutHook, "")

	if calls := h.awaitCalls(2, 5*time.Second); len(got) != 1 || got[0].Err == nil || calls != 2 {
		t.Errorf("results = %+v after %d calls, want a failure after 2 calls", got, calls)
	}
}

// awaitCalls waits up to within for the server to have seen n calls and
// returns how many it saw.
func (h *hookServer) awaitCalls(n int, within time.Duration) int {
	deadline := time.Now().Add(within)
	for h.calls() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return h.calls()
}

func TestRunRejectsABadTimeout(t *testing.T) {
	canary := newCanary(flaggerv1.CanaryWebhook{Name: "odd", URL: "http://127.0.0.1:1/", Timeout: "10 parsecs"})
	got := (&Client{}).Run(context.Background(), canary, flaggerv1.RolloutHook, "")
	if len(got) != 1 || got[0].Err == nil || !strings.Contains(got[0].Err.Error(), `parse timeout "10 parsecs"`) {
		t.Errorf("results = %+v, want a timeout parse error", got)
	}
}

func TestEventSinks(t *testing.T) {
	hook, global, other := &hookServer{}, &hookServer{}, &hookServer{}
	canary := newCanary(
		flaggerv1.CanaryWebhook{Name: "slack", Type: flaggerv1.EventHook, URL: newHookServer(t, hook), Metadata: metadata("channel", "x")},
		flaggerv1.CanaryWebhook{Name: "load", URL: newHookServer(t, other)},
	)
	client := &Client{EventURL: newHookServer(t, global)}
	n := notify.Notification{Name: "podinfo", Namespace: "test", Phase: flaggerv1.CanaryPhaseProgressing, EventType: "Normal",
		Message: "Advance podinfo.test canary weight 10", Time: time.UnixMilli(1700000000123)}

	sinks := client.EventSinks(canary)
	if len(sinks) != 2 || sinks[0].Name() != "slack" || sinks[1].Name() != "event-webhook" || sinks[0].Kind() != EventSinkKind {
		t.Fatalf("sinks %v, want the canary's event webhook slack and the operator's event-webhook", sinks)
	}
	for _, s := range sinks {
		if err := s.Deliver(context.Background(), n); err != nil {
			t.Errorf("deliver to %s: %v", s.Name(), err)
		}
	}
	want := `{"name":"podinfo","namespace":"test","phase":"Progressing","metadata":{"eventMessage":"Advance podinfo.test canary weight 10","eventType":"Normal","timestamp":"1700000000123"}}`
	for name, h := range map[string]*hookServer{"event webhook": hook, "event URL": global} {
		if h.calls() != 1 {
			t.Fatalf("%s called %d times, want once", name, h.calls())
		}
		assertJSON(t, h.bodies[0], want)
	}
	if other.calls() != 0 {
		t.Errorf("rollout webhook called %d times for an event, want never", other.calls())
	}
}

func TestEventSinkFailuresAreReturned(t *testing.T) {
	h := &hookServer{statuses: []int{500}}
	canary := newCanary(flaggerv1.CanaryWebhook{Name: "events", Type: flaggerv1.EventHook, URL: newHookServer(t, h)})
	sinks := (&Client{}).EventSinks(canary)
	if len(sinks) != 1 {
		t.Fatalf("%d sinks, want 1", len(sinks))
	}
	err := sinks[0].Deliver(context.Background(), notify.Notification{Name: "podinfo", Namespace: "test", Message: "Canary failed! Scaling down podinfo.test"})
	if err == nil || !strings.Contains(err.Error(), "500") || h.calls() != 1 {
		t.Errorf("error %v after %d calls, want the 500 reply after one call", err, h.calls())
	}
}

func TestRunNeverFollowsARedirect(t *testing.T) {
	target := &hookServer{}
	targetURL := newHookServer(t, target)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, targetURL+"/internal", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	canary := newCanary(flaggerv1.CanaryWebhook{Name: "gate", Type: flaggerv1.ConfirmRolloutHook, URL: redirector.URL, Retries: 2})

	got := (&Client{}).Run(context.Background(), canary, flaggerv1.ConfirmRolloutHook, "")

	if len(got) != 1 || got[0].Err == nil || got[0].Err.Error() != "webhook gate replied 307 Temporary Redirect: redirects are not followed" {
		t.Fatalf("results = %+v, want a refused redirect", got)
	}
	if target.calls() != 0 {
		t.Errorf("the redirect target got %d calls", target.calls())
	}
}

func TestRunRefusesDeniedNetworks(t *testing.T) {
	h := &hookServer{}
	url := newHookServer(t, h)
	deny, _ := egress.ParsePrefixes("127.0.0.0/8,::1/128")
	canary := newCanary(flaggerv1.CanaryWebhook{Name: "metadata", URL: strings.Replace(url, "127.0.0.1", "localhost", 1), Retries: 1})

	got := (&Client{Egress: egress.NewPolicy(deny, nil)}).Run(context.Background(), canary, flaggerv1.RolloutHook, "")

	want := "call webhook metadata: refused by the operator's egress policy: the address is in a denied network"
	if len(got) != 1 || got[0].Err == nil || got[0].Err.Error() != want {
		t.Fatalf("results = %+v, want %q", got, want)
	}
	if h.calls() != 0 {
		t.Errorf("the denied webhook got %d calls", h.calls())
	}
}

func TestTransportFailuresRevealNoAddresses(t *testing.T) {
	canary := newCanary(flaggerv1.CanaryWebhook{Name: "down", URL: "http://127.0.0.1:1/"})
	got := (&Client{}).Run(context.Background(), canary, flaggerv1.RolloutHook, "")
	if len(got) != 1 || got[0].Err == nil || got[0].Err.Error() != "call webhook down: connection refused" {
		t.Fatalf("results = %+v, want a bare connection refused", got)
	}
}

// assertJSON compares JSON documents by value.
func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("payload %s is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("payload =\n%s\nwant\n%s", got, want)
	}
}
