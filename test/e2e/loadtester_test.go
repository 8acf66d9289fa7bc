package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// loadTester is a serin-loadtester process keeping its gates in a
// ConfigMap of the test namespace, as it does in a cluster.
type loadTester struct {
	url string
	cmd *exec.Cmd
}

// startLoadTester runs the load tester on addr (a free port when empty).
func startLoadTester(t *testing.T, bin, ns, addr string) *loadTester {
	t.Helper()
	if addr == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr().String()
		l.Close()
	}
	e := framework.Get()
	logFile, err := os.Create(filepath.Join(e.Artifacts, fmt.Sprintf("loadtester-%s-%d.log", ns, time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "--listen-address="+addr, "--gate-store=configmap")
	cmd.Env = append(os.Environ(), "POD_NAMESPACE="+ns, "KUBECONFIG="+e.Cluster.Kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lt := &loadTester{url: "http://" + addr, cmd: cmd}
	t.Cleanup(lt.kill)
	framework.Eventually(t, 30*time.Second, "the load tester to serve", func(ctx context.Context) (bool, string) {
		resp, err := http.Get(lt.url + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return lt
}

func (lt *loadTester) kill() {
	_ = syscall.Kill(-lt.cmd.Process.Pid, syscall.SIGKILL)
	_, _ = lt.cmd.Process.Wait()
}

func (lt *loadTester) post(t *testing.T, path, ns string) int {
	t.Helper()
	body := fmt.Sprintf(`{"name":"podinfo","namespace":%q,"phase":"Progressing"}`, ns)
	resp, err := http.Post(lt.url+path, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A confirm-rollout gate held by the load tester keeps a new revision
// Waiting; opening it starts the analysis; the gate's state lives in a
// ConfigMap and survives a restart of the load tester.
func TestLoadTesterGateHoldsARollout(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	bin := filepath.Join(e.Artifacts, "serin-loadtester")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(e.Root, "cmd", "serin-loadtester")).CombinedOutput(); err != nil {
		t.Fatalf("build load tester: %v\n%s", err, out)
	}
	ns := e.Namespace(t)
	lt := startLoadTester(t, bin, ns, "")
	e.StartOperator(t, "--namespace="+ns)
	e.Apply(t, ns, "podinfo.yaml")
	canary := framework.ReadObjects(t, "canary-migration.yaml")[0]
	_ = unstructured.SetNestedField(canary.Object, "gatewayapi:v1", "spec", "provider")
	_ = unstructured.SetNestedSlice(canary.Object, []any{map[string]any{
		"name": "approval", "type": "confirm-rollout", "url": lt.url + "/gate/check",
	}}, "spec", "analysis", "webhooks")
	e.CreateObjects(t, ns, canary)
	waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)

	(&release{t: t, e: e, ns: ns}).deploy("stefanprodan/podinfo:3.1.1")
	waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseWaiting, 30*time.Second)
	assertEvent(t, ns, "podinfo", fmt.Sprintf("Halt podinfo.%s advancement waiting for approval approval", ns))

	if code := lt.post(t, "/gate/open", ns); code >= 300 {
		t.Fatalf("/gate/open answered %d", code)
	}
	lt.kill()
	lt = startLoadTester(t, bin, ns, strings.TrimPrefix(lt.url, "http://"))
	if code := lt.post(t, "/gate/check", ns); code != http.StatusOK {
		t.Fatalf("after a restart /gate/check answers %d, want 200: the opened gate was lost", code)
	}
	cm := &corev1.ConfigMap{}
	framework.MustGet(t, ns, "serin-loadtester-gates", cm)
	waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseSucceeded, 60*time.Second)
}
