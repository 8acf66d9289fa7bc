package loadtester

import (
	"cmp"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// markerPath stands for a marker file in the test's temporary directory; hostile commands try
// to create it.
const markerPath = "/MARKER"

func cmdBody(line string) string { return payload(withMeta("cmd", line)) }

func typedBody(typ, line string) string { return payload(withMeta("type", typ, "cmd", line)) }

const touch = "touch " + markerPath

// hostileRequests is the injection corpus: requests the service must refuse, with the exact
// status and a part of the message that tells the caller why.
var hostileRequests = map[string]struct {
	path       string // request path, "/" when empty
	body       string // raw request body; markerPath is replaced by the real marker file
	wantStatus int    // exact expected status
	wantMsg    string // substring of the reply
}{
	"a pipe into a shell":                 {body: cmdBody("hey http://x/ | sh"), wantStatus: 400, wantMsg: `pipe "|"`},
	"a semicolon then touch":              {body: cmdBody("hey http://x/; " + touch), wantStatus: 400, wantMsg: `command separator ";"`},
	"an and-list":                         {body: cmdBody("hey http://x/ && " + touch), wantStatus: 400, wantMsg: `and-list "&&"`},
	"an or-list":                          {body: cmdBody("hey http://x/ || " + touch), wantStatus: 400, wantMsg: `or-list "||"`},
	"a background job":                    {body: cmdBody("hey http://x/ & " + touch), wantStatus: 400, wantMsg: `background operator "&"`},
	"an output redirection":               {body: cmdBody("hey http://x/ > " + markerPath), wantStatus: 400, wantMsg: `redirection ">"`},
	"an input redirection":                {body: cmdBody("hey -D /etc/shadow < /dev/null"), wantStatus: 400, wantMsg: `redirection "<"`},
	"command substitution":                {body: cmdBody("hey $(" + touch + ")"), wantStatus: 400, wantMsg: "command substitution"},
	"command substitution in quotes":      {body: cmdBody(`hey "$(` + touch + `)"`), wantStatus: 400, wantMsg: "command substitution"},
	"backticks":                           {body: cmdBody("hey `" + touch + "`"), wantStatus: 400, wantMsg: "command substitution"},
	"process substitution":                {body: cmdBody("hey <(" + touch + ")"), wantStatus: 400, wantMsg: "process substitution"},
	"a newline then touch":                {body: cmdBody("hey http://x/\n" + touch), wantStatus: 400, wantMsg: "newline"},
	"an IFS trick":                        {body: cmdBody("hey${IFS}http://x/"), wantStatus: 400, wantMsg: "parameter expansion"},
	"a NUL byte":                          {body: cmdBody("hey http://x/\x00" + touch), wantStatus: 400, wantMsg: "control character"},
	"a subshell":                          {body: cmdBody("(" + touch + ")"), wantStatus: 400, wantMsg: `subshell "("`},
	"a shell by absolute path":            {body: cmdBody("/bin/sh -c '" + touch + "'"), wantStatus: 400, wantMsg: `program "/bin/sh"`},
	"hey by absolute path":                {body: cmdBody("/usr/bin/hey http://x/"), wantStatus: 400, wantMsg: "without a path"},
	"a program not on the allow-list":     {body: cmdBody(touch), wantStatus: 400, wantMsg: "--allow-program"},
	"an environment assignment":           {body: cmdBody("PATH=/tmp hey http://x/"), wantStatus: 400, wantMsg: `program "PATH=/tmp"`},
	"an unterminated quote":               {body: cmdBody("hey 'http://x/"), wantStatus: 400, wantMsg: "unterminated single quote"},
	"bash while disabled":                 {body: typedBody("bash", touch), wantStatus: 403, wantMsg: "--enable-bash"},
	"kubectl while disabled":              {body: typedBody("kubectl", "delete ns prod"), wantStatus: 403, wantMsg: "--enable-kubectl"},
	"kubectl with a pipe while disabled":  {body: typedBody("kubectl", "get ns | sh"), wantStatus: 403, wantMsg: "--enable-kubectl"},
	"helm while disabled":                 {body: typedBody("helm", "test podinfo"), wantStatus: 403, wantMsg: "--enable-helm"},
	"helmv3 while disabled":               {body: typedBody("helmv3", "test podinfo"), wantStatus: 403, wantMsg: "--enable-helm"},
	"an unknown type":                     {body: typedBody("python", "import os"), wantStatus: 400, wantMsg: `metadata type "python" is unknown`},
	"malformed JSON":                      {body: `{"name":"podinfo",`, wantStatus: 400, wantMsg: "not a valid webhook payload"},
	"an empty body":                       {body: "", wantStatus: 400, wantMsg: "request body is empty"},
	"two JSON objects":                    {body: cmdBody("hey u") + `{}`, wantStatus: 400, wantMsg: "unexpected data"},
	"a non-string metadata value":         {body: `{"name":"podinfo","namespace":"test","metadata":{"cmd":["touch","x"]}}`, wantStatus: 400, wantMsg: "not a valid webhook payload"},
	"missing metadata":                    {body: payload(), wantStatus: 400, wantMsg: "metadata is missing"},
	"missing cmd":                         {body: payload(withMeta("type", "cmd")), wantStatus: 400, wantMsg: "metadata.cmd is missing"},
	"an oversized body":                   {body: cmdBody("hey " + strings.Repeat("a", 70<<10)), wantStatus: 413, wantMsg: "--max-body-bytes"},
	"a namespace not allowed":             {body: payload(withNamespace("kube-system"), withMeta("cmd", "hey u")), wantStatus: 403, wantMsg: "--namespace-regexp"},
	"a path in the canary name":           {body: payload(withName("../../etc"), withMeta("cmd", "hey u")), wantStatus: 400, wantMsg: "not a valid Kubernetes name"},
	"a timeout above the maximum":         {body: payload(withMeta("cmd", "hey u", "timeout", "100h")), wantStatus: 400, wantMsg: "--max-timeout"},
	"a huge timeout in seconds":           {body: payload(withMeta("cmd", "hey u", "timeout", "99999999999999")), wantStatus: 400, wantMsg: "--max-timeout"},
	"a gate opened for another namespace": {path: "/gate/open", body: payload(withNamespace("kube-system")), wantStatus: 403, wantMsg: "--namespace-regexp"},
	"an oversized gate request":           {path: "/gate/open", body: payload(withMeta("x", strings.Repeat("a", 70<<10))), wantStatus: 413, wantMsg: "--max-body-bytes"},
	"a malformed rollback request":        {path: "/rollback/open", body: "[]", wantStatus: 400, wantMsg: "not a valid webhook payload"},
}

// Hostile requests are refused with an exact status and a message that says why, and none of
// them reaches the executor. The executor is real (wrapped in a spy), so a refusal that did not
// hold would both be counted and leave the marker file behind.
func TestHostileRequestsAreRefusedAndRunNothing(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "pwned")
	spy := &spyExecutor{}
	ts := newTestServer(t, withExecutor(spy), withConfig(func(c *Config) {
		c.Policy.Namespaces = regexp.MustCompile(`^(?:test|prod)$`)
	}))
	for name, tc := range hostileRequests {
		t.Run(name, func(t *testing.T) {
			path := cmp.Or(tc.path, "/")
			status, body := ts.post(t, path, strings.ReplaceAll(tc.body, markerPath, marker))
			if status != tc.wantStatus {
				t.Errorf("status %d, want %d (reply: %s)", status, tc.wantStatus, body)
			}
			if !strings.Contains(body, tc.wantMsg) {
				t.Errorf("reply %q does not contain %q", body, tc.wantMsg)
			}
		})
	}

	// Had anything started asynchronously, let it finish so the marker check can see it.
	eventually(t, 5*time.Second, "no command running", func() bool { return ts.runner.Running() == 0 })
	if len(spy.calls) != 0 {
		t.Errorf("the executor was called for refused requests: %q", spy.calls)
	}
	if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("marker file %s exists (stat error %v): a hostile command ran", marker, err)
	}
	if got := ts.metric(t, "serin_loadtester_requests_refused_total"); got != float64(len(hostileRequests)) {
		t.Errorf("refused counter = %v, want %d: every refusal must be counted", got, len(hostileRequests))
	}
	if got := ts.metric(t, "serin_loadtester_commands_started_total"); got != 0 {
		t.Errorf("started counter = %v, want 0", got)
	}
}

// The same marker command does run when it is allowed, which proves the marker check above
// would have caught an escape.
func TestMarkerCommandRunsWhenAllowed(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	ts := newTestServer(t, withConfig(func(c *Config) {
		c.Policy.AllowedPrograms = append(c.Policy.AllowedPrograms, "touch")
	}))
	if status, body := ts.post(t, "/", payload(withMeta("cmd", "touch "+marker))); status != http.StatusAccepted {
		t.Fatalf("status %d (%s), want 202", status, body)
	}
	eventually(t, 5*time.Second, "the marker file", func() bool {
		_, err := os.Stat(marker)
		return err == nil
	})
}
