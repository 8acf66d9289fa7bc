package install

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/serin-dev/serin/test/cluster"
	"github.com/serin-dev/serin/test/framework"
	"github.com/serin-dev/serin/test/seed"
)

// gateTokenFile is where the chart mounts the gate token Secret.
const gateTokenFile = "/etc/serin-loadtester/gate-token/token"

// gates.token.value becomes a Secret, mounted into the load tester and
// passed as --gate-token-file; the load tester started with the rendered
// arguments (and the Secret's token where the kubelet would put it) then
// refuses gate changes without that token. The API server accepts the
// chart with it.
func TestLoadTesterChartGateTokenGuardsGateChanges(t *testing.T) {
	values := []string{"--set", "fullnameOverride=lt,gates.store=file,gates.token.value=s3cr3t-gate"}
	objs := render(t, "serin-loadtester", values...)
	data, _, _ := unstructured.NestedString(find(t, objs, "Secret", "lt-gate-token").Object, "data", "token")
	token, err := base64.StdEncoding.DecodeString(data)
	if err != nil || string(token) != "s3cr3t-gate" {
		t.Fatalf("Secret lt-gate-token holds %q (%v), want the token of gates.token.value", token, err)
	}
	d := find(t, objs, "Deployment", "lt")
	assertTokenMounted(t, d, "lt-gate-token")

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), token, 0o600); err != nil {
		t.Fatal(err)
	}
	addr, err := framework.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	port := addr[strings.LastIndex(addr, ":")+1:]
	// The pod's port and paths, moved to the test's.
	moved := strings.NewReplacer("-port=8080", "-port="+port, gateTokenFile, filepath.Join(dir, "token"),
		"/var/lib/serin-loadtester/gates.json", filepath.Join(dir, "gates.json"))
	var args []string
	for _, a := range containerArgs(t, d) {
		args = append(args, moved.Replace(a))
	}
	p, err := cluster.StartProcess(dir, "loadtester", seed.Stack().Bins.LoadTester, args, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(5 * time.Second)
	base := "http://127.0.0.1:" + port
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cluster.WaitHTTP(ctx, &http.Client{Timeout: time.Second}, base+"/healthz", "", p); err != nil {
		t.Fatalf("serin-loadtester %s: %v", strings.Join(args, " "), err)
	}
	for bearer, want := range map[string]int{"": http.StatusUnauthorized, "wrong": http.StatusUnauthorized, "s3cr3t-gate": http.StatusAccepted} {
		if got := openGate(t, base, bearer); got != want {
			t.Errorf("POST /gate/open with token %q: %d, want %d", bearer, got, want)
		}
	}

	helm(t, append([]string{"install", "lt", chart("serin-loadtester"), "--namespace", "gate-token", "--create-namespace"}, values...)...)
	assertStored(t, decode(t, helm(t, "get", "manifest", "lt", "--namespace", "gate-token")), "gate-token", "Secret", "Deployment")
}

// gates.token.existingSecret mounts the user's Secret; the chart makes none.
func TestLoadTesterChartMountsAnExistingGateTokenSecret(t *testing.T) {
	objs := render(t, "serin-loadtester", "--set", "fullnameOverride=lt,gates.token.existingSecret=team-gate-token")
	for _, o := range objs {
		if o.GetKind() == "Secret" {
			t.Errorf("the chart rendered Secret %s; with existingSecret it must use the user's", o.GetName())
		}
	}
	assertTokenMounted(t, find(t, objs, "Deployment", "lt"), "team-gate-token")
}

// assertTokenMounted checks that the Deployment mounts key token of secret
// at gateTokenFile and passes that file as --gate-token-file.
func assertTokenMounted(t *testing.T, d *unstructured.Unstructured, secret string) {
	t.Helper()
	if args := containerArgs(t, d); !slices.Contains(args, "--gate-token-file="+gateTokenFile) {
		t.Errorf("load tester args %q lack --gate-token-file=%s", args, gateTokenFile)
	}
	volumes, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	mounts, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "volumeMounts")
	var volume, mount bool
	for _, v := range volumes {
		name, _, _ := unstructured.NestedString(v.(map[string]any), "secret", "secretName")
		items, _, _ := unstructured.NestedSlice(v.(map[string]any), "secret", "items")
		volume = volume || (name == secret && len(items) == 1 && items[0].(map[string]any)["key"] == "token")
	}
	for _, m := range mounts {
		m := m.(map[string]any)
		mount = mount || (m["name"] == "gate-token" && m["mountPath"] == filepath.Dir(gateTokenFile) && m["readOnly"] == true)
	}
	if !volume || !mount {
		t.Errorf("secret %s is not mounted read-only at %s: volumes %v, mounts %v", secret, filepath.Dir(gateTokenFile), volumes, mounts)
	}
}

// openGate posts /gate/open for podinfo.test with a bearer token (none
// when empty) and returns the status code.
func openGate(t *testing.T, base, bearer string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/gate/open", strings.NewReader(`{"name":"podinfo","namespace":"test"}`))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
