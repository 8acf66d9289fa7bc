package loadtester

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The canary controller calls the load tester every interval with the same hey command. The
// first call must start hey, the following ones must not start a second generator, and hey
// must really put the expected traffic on the target.
func TestRepeatedHeyTaskRunsOnceAndLoadsTheTarget(t *testing.T) {
	if _, err := (ProcessExecutor{}).LookPath("hey"); err != nil {
		t.Fatalf("the hey load generator must be on PATH for this test (apt-get install -y hey): %v", err)
	}
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
	}))
	defer target.Close()
	ts := newTestServer(t)

	cmd := "hey -z 2s -q 10 -c 2 " + target.URL + "/"
	began := time.Now()
	for i := range 3 {
		status, body := ts.post(t, "/", payload(withMeta("cmd", cmd)))
		if status != http.StatusAccepted {
			t.Fatalf("call %d: status %d (%s), want 202", i+1, status, body)
		}
	}
	if elapsed := time.Since(began); elapsed > time.Second {
		t.Fatalf("the three calls took %s, want them within 1s", elapsed)
	}
	if got := ts.metric(t, "serin_loadtester_commands_started_total", "type", "cmd"); got != 1 {
		t.Errorf("started = %v, want 1", got)
	}
	if got := ts.metric(t, "serin_loadtester_commands_skipped_total"); got != 2 {
		t.Errorf("skipped = %v, want 2", got)
	}
	eventually(t, 15*time.Second, "hey to finish", func() bool { return ts.runner.Running() == 0 })
	if got := ts.metric(t, "serin_loadtester_commands_failed_total"); got != 0 {
		t.Errorf("failed = %v, want 0", got)
	}
	// 2 workers x 10 requests/s x 2 s = 40 requests.
	got := hits.Load()
	t.Logf("hey sent %d requests to the target (expected about 40)", got)
	if got < 30 || got > 50 {
		t.Fatalf("target received %d requests, want 40 ±25%%", got)
	}
}

// De-duplication is per canary and per command, and ends when the command does.
func TestDeduplicationKeyIsCanaryAndCommand(t *testing.T) {
	fake := newFakeExecutor()
	ts := newTestServer(t, withExecutor(fake))
	calls := []string{
		payload(withMeta("cmd", "hey http://a/")),
		payload(withMeta("cmd", "hey http://a/")),                         // duplicate
		payload(withMeta("cmd", "hey  'http://a/'")),                      // same words: duplicate
		payload(withMeta("cmd", "hey http://b/")),                         // other command
		payload(withName("other"), withMeta("cmd", "hey http://a/")),      // other canary
		payload(withNamespace("prod"), withMeta("cmd", "hey http://a/")),  // other namespace
		payload(withMeta("cmd", "hey http://a/", "logCmdOutput", "true")), // duplicate
	}
	for i, body := range calls {
		if status, reply := ts.post(t, "/", body); status != http.StatusAccepted {
			t.Fatalf("call %d: status %d (%s), want 202", i, status, reply)
		}
	}
	if started, skipped := ts.metric(t, "serin_loadtester_commands_started_total"),
		ts.metric(t, "serin_loadtester_commands_skipped_total"); started != 4 || skipped != 3 {
		t.Fatalf("started %v, skipped %v; want 4 and 3", started, skipped)
	}
	close(fake.release)
	eventually(t, 5*time.Second, "commands to finish", func() bool { return ts.runner.Running() == 0 })
	if status, _ := ts.post(t, "/", calls[0]); status != http.StatusAccepted {
		t.Fatalf("status %d, want 202", status)
	}
	if got := ts.metric(t, "serin_loadtester_commands_started_total"); got != 5 {
		t.Fatalf("started %v after the first run ended, want 5: a finished command must run again", got)
	}
}

func TestConcurrencyLimitAnswers429(t *testing.T) {
	fake := newFakeExecutor()
	defer close(fake.release)
	ts := newTestServer(t, withExecutor(fake), withConfig(func(c *Config) { c.MaxConcurrent = 1 }))
	if status, body := ts.post(t, "/", payload(withMeta("cmd", "hey http://a/"))); status != http.StatusAccepted {
		t.Fatalf("first command: status %d (%s), want 202", status, body)
	}
	status, body := ts.post(t, "/", payload(withMeta("cmd", "hey http://b/")))
	if status != http.StatusTooManyRequests || !strings.Contains(body, "--max-concurrent") {
		t.Fatalf("second command: status %d (%s), want 429 naming --max-concurrent", status, body)
	}
	// An accepted command starts in the background.
	eventually(t, 5*time.Second, "the accepted command to start", func() bool { _, runs := fake.calls(); return runs >= 1 })
	if _, runs := fake.calls(); runs != 1 {
		t.Fatalf("executor ran %d commands, want 1", runs)
	}
	if got := ts.metric(t, "serin_loadtester_requests_refused_total", "reason", "busy"); got != 1 {
		t.Fatalf("refused{busy} = %v, want 1", got)
	}
}

func TestBlockingBashTask(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *Config) { c.Policy.EnableBash = true }))
	tests := map[string]struct {
		meta       []string // metadata key/value pairs besides type bash
		wantStatus int      // expected HTTP status
		wantBody   []string // substrings the reply must contain
		avoidBody  string   // substring the reply must not contain, if set
	}{
		"success answers 200 without output by default": {
			meta: []string{"cmd", "echo hello-out"}, wantStatus: 200,
			wantBody: []string{"command succeeded"}, avoidBody: "hello-out",
		},
		"returnCmdOutput puts the output in the reply": {
			meta:       []string{"cmd", "echo hello-out | tr a-z A-Z", "returnCmdOutput", "true"},
			wantStatus: 200, wantBody: []string{"HELLO-OUT"},
		},
		"failure answers 500 with the error and the output": {
			meta: []string{"cmd", "echo broken >&2; exit 3"}, wantStatus: 500,
			wantBody: []string{"exit status 3", "broken"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			status, body := ts.post(t, "/", payload(withMeta(append(tc.meta, "type", "bash")...)))
			if status != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", status, body, tc.wantStatus)
			}
			for _, want := range tc.wantBody {
				if !strings.Contains(body, want) {
					t.Errorf("reply %q does not contain %q", body, want)
				}
			}
			if tc.avoidBody != "" && strings.Contains(body, tc.avoidBody) {
				t.Errorf("reply %q contains %q", body, tc.avoidBody)
			}
		})
	}
}

// A command that outlives its timeout is killed together with its children, even when they
// ignore SIGTERM: the leader gets SIGKILL after the grace period and the group after it.
func TestTimeoutKillsTheWholeProcessGroup(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *Config) { c.Policy.EnableBash = true }))
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	script := "trap '' TERM; sleep 60 & echo $! > " + pidFile + "; wait"
	began := time.Now()
	status, body := ts.post(t, "/", payload(withMeta("type", "bash", "cmd", script, "timeout", "500ms")))
	if status != http.StatusInternalServerError || !strings.Contains(body, "timed out after 500ms") {
		t.Fatalf("status %d (%s), want 500 saying it timed out", status, body)
	}
	if elapsed := time.Since(began); elapsed > 5*time.Second {
		t.Fatalf("the timed-out command took %s to return", elapsed)
	}
	pid := readPID(t, pidFile)
	eventually(t, 5*time.Second, "the background child to die", func() bool { return !processAlive(pid) })
	if got := ts.metric(t, "serin_loadtester_commands_failed_total", "type", "bash"); got != 1 {
		t.Fatalf("failed{bash} = %v, want 1", got)
	}
}

// Cancelling Serve's context (what SIGTERM does in main) stops running commands and returns.
func TestServeShutsDownAndStopsCommands(t *testing.T) {
	cfg := DefaultConfig()
	cfg.KillGrace = 200 * time.Millisecond
	cfg.Policy.AllowedPrograms = append(cfg.Policy.AllowedPrograms, "sleep")
	addr, srv, stop := serving(t, cfg)

	const marker = "61.2345" // an argument no other process on the machine uses
	resp, err := http.Post("http://"+addr+"/", "application/json",
		strings.NewReader(payload(withMeta("cmd", "sleep "+marker))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d, want 202", resp.StatusCode)
	}
	eventually(t, 5*time.Second, "sleep to start", func() bool { return findProcess(marker) != 0 })
	pid := findProcess(marker)

	if err := stop(); err != nil {
		t.Fatalf("Serve returned %v, want nil after a graceful shutdown", err)
	}
	if srv.runner.Running() != 0 {
		t.Fatalf("%d commands still running after shutdown", srv.runner.Running())
	}
	eventually(t, 5*time.Second, "sleep to die", func() bool { return !processAlive(pid) })
}

func TestHealthzAndMetricsEndpoints(t *testing.T) {
	ts := newTestServer(t)
	ts.post(t, "/", "{")
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/metrics": `serin_loadtester_requests_refused_total{reason="malformed_payload"} 1`,
	} {
		resp, err := http.Get(ts.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), want) {
			t.Errorf("GET %s: status %d, body does not contain %q", path, resp.StatusCode, want)
		}
	}
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("parse pid %q: %v", data, err)
	}
	return pid
}

// processAlive reports whether pid is a live process. A zombie counts as dead: it has exited
// and only waits for a parent (possibly a container's PID 1 that never reaps) to collect it.
func processAlive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// findProcess returns the pid of a live process with arg on its command line, or 0.
func findProcess(arg string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmdline), "\x00"+arg) && processAlive(pid) {
			return pid
		}
	}
	return 0
}
