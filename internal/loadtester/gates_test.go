package loadtester

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// gateStep is one request of a gate scenario and the status it must get.
type gateStep struct {
	path   string // endpoint
	body   string // payload
	status int    // expected HTTP status
}

// gateRoundTrip exercises every gate endpoint for podinfo.test, checking that other canaries'
// gates stay closed.
func gateRoundTrip() []gateStep {
	podinfo, other := payload(), payload(withName("other"))
	return []gateStep{
		{"/gate/approve", podinfo, http.StatusOK},
		{"/gate/halt", podinfo, http.StatusForbidden},
		{"/gate/check", podinfo, http.StatusForbidden}, // closed by default
		{"/gate/open", podinfo, http.StatusAccepted},
		{"/gate/check", podinfo, http.StatusOK},
		{"/gate/check", other, http.StatusForbidden},
		{"/rollback/check", podinfo, http.StatusForbidden}, // the gates are independent
		{"/gate/close", podinfo, http.StatusAccepted},
		{"/gate/check", podinfo, http.StatusForbidden},
		{"/rollback/open", podinfo, http.StatusAccepted},
		{"/rollback/check", podinfo, http.StatusOK},
		{"/rollback/check", other, http.StatusForbidden},
		{"/gate/check", podinfo, http.StatusForbidden},
		{"/rollback/close", podinfo, http.StatusAccepted},
		{"/rollback/check", podinfo, http.StatusForbidden},
		{"/gate/close", other, http.StatusAccepted}, // closing a closed gate is fine
		{"/gate/check", other, http.StatusForbidden},
	}
}

func TestGateEndpointsRoundTrip(t *testing.T) {
	for name, newStore := range gateStores(100) {
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, withStore(newStore(t)))
			for i, step := range gateRoundTrip() {
				if status, body := ts.post(t, step.path, step.body); status != step.status {
					t.Fatalf("step %d POST %s: status %d (%s), want %d", i, step.path, status, body, step.status)
				}
			}
		})
	}
}

// Gate metrics count checks and changes by gate kind only: a label per canary name would let
// callers create series without bound.
func TestGateMetricsHaveNoPerCanaryLabels(t *testing.T) {
	ts := newTestServer(t)
	for i := range 50 {
		ts.post(t, "/gate/open", payload(withName("c"+strconv.Itoa(i))))
		ts.post(t, "/gate/check", payload(withName("c"+strconv.Itoa(i))))
	}
	ts.post(t, "/gate/check", payload(withName("closed")))
	ts.post(t, "/rollback/close", payload())
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"serin_loadtester_gate_changes_total", []string{"gate", "gate", "action", "opened"}, 50},
		{"serin_loadtester_gate_changes_total", []string{"gate", "rollback", "action", "closed"}, 1},
		{"serin_loadtester_gate_checks_total", []string{"gate", "gate", "result", "open"}, 50},
		{"serin_loadtester_gate_checks_total", []string{"gate", "gate", "result", "closed"}, 1},
	} {
		if got := ts.metric(t, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	families, err := ts.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "serin_loadtester_gate") && len(f.GetMetric()) > 4 {
			t.Errorf("%s has %d series for 51 canaries", f.GetName(), len(f.GetMetric()))
		}
	}
}

// A restart must not silently close a gate an operator opened (Flagger's load tester forgets).
func TestGatesSurviveRestartWithFileStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gates.json")
	restart := func() *testServer {
		store, err := OpenFileStore(path, 100)
		if err != nil {
			t.Fatalf("reopen file store: %v", err)
		}
		return newTestServer(t, withStore(store))
	}
	first := restart()
	first.post(t, "/gate/open", payload())
	first.post(t, "/rollback/open", payload(withName("other")))

	second := restart()
	for _, step := range []gateStep{
		{"/gate/check", payload(), http.StatusOK},
		{"/rollback/check", payload(withName("other")), http.StatusOK},
		{"/rollback/check", payload(), http.StatusForbidden},
		{"/gate/close", payload(), http.StatusAccepted},
	} {
		if status, body := second.post(t, step.path, step.body); status != step.status {
			t.Fatalf("after restart, POST %s: status %d (%s), want %d", step.path, status, body, step.status)
		}
	}

	third := restart()
	if status, _ := third.post(t, "/gate/check", payload()); status != http.StatusForbidden {
		t.Fatalf("a gate closed before the restart is open again (status %d)", status)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("state directory holds %d entries, want only the state file (no temporary files left)", len(entries))
	}
}

func TestFileStoreRejectsCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gates.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFileStore(path, 100); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("OpenFileStore on a corrupt file = %v, want an error naming the file", err)
	}
}

func TestConfigMapStoreSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientBuilder().Build()
	first := NewConfigMapStore(c, "loadtester", "gates", 100)

	if err := first.SetOpen(ctx, GateApproval, "podinfo.test", false); err != nil {
		t.Fatalf("close on a missing ConfigMap: %v", err)
	}
	var cm corev1.ConfigMap
	key := types.NamespacedName{Namespace: "loadtester", Name: "gates"}
	if err := c.Get(ctx, key, &cm); err == nil {
		t.Fatal("closing a gate created the ConfigMap; closed is the default and needs no record")
	}
	for _, canary := range []string{"podinfo.test", "other.test"} {
		if err := first.SetOpen(ctx, GateApproval, canary, true); err != nil {
			t.Fatalf("open %s: %v", canary, err)
		}
	}
	if err := first.SetOpen(ctx, GateRollback, "podinfo.test", true); err != nil {
		t.Fatal(err)
	}
	if err := first.SetOpen(ctx, GateApproval, "other.test", false); err != nil {
		t.Fatal(err)
	}

	restarted := NewConfigMapStore(c, "loadtester", "gates", 100)
	for _, tc := range []struct {
		kind   GateKind
		canary string
		open   bool
	}{
		{GateApproval, "podinfo.test", true},
		{GateRollback, "podinfo.test", true},
		{GateApproval, "other.test", false},
		{GateRollback, "other.test", false},
	} {
		open, err := restarted.IsOpen(ctx, tc.kind, tc.canary)
		if err != nil || open != tc.open {
			t.Errorf("IsOpen(%s, %s) = %v, %v; want %v", tc.kind, tc.canary, open, err, tc.open)
		}
	}
	if err := c.Get(ctx, key, &cm); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"gate.podinfo.test": "open", "rollback.podinfo.test": "open"}
	if len(cm.Data) != len(want) || cm.Data["gate.podinfo.test"] != "open" || cm.Data["rollback.podinfo.test"] != "open" {
		t.Fatalf("ConfigMap data = %v, want %v", cm.Data, want)
	}
}

// failingClient makes every Get fail, as an unreachable API server would.
type failingClient struct{ client.Client }

func (failingClient) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return errors.New("connection refused")
}

// A gate that cannot be read must not look open: the check answers 500, never 200.
func TestGateCheckFailsClosedWhenTheStoreFails(t *testing.T) {
	store := NewConfigMapStore(failingClient{fake.NewClientBuilder().Build()}, "loadtester", "gates", 100)
	ts := newTestServer(t, withStore(store))
	for _, path := range []string{"/gate/check", "/rollback/check", "/gate/open"} {
		status, body := ts.post(t, path, payload())
		if status != http.StatusInternalServerError || !strings.Contains(body, "connection refused") {
			t.Errorf("POST %s: status %d (%s), want 500 with the cause", path, status, body)
		}
	}
}
