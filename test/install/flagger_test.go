package install

import (
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/serin-dev/serin/test/cluster"
	"github.com/serin-dev/serin/test/framework"
	"github.com/serin-dev/serin/test/seed"
)

// flaggerChartArgs are what Flagger's charts/flagger deployment template
// passes to ./flagger (Flagger 1.x), for values a migrating team has.
var flaggerChartArgs = map[string][]string{
	"the chart's default values": {"-log-level=info", "-metrics-server=http://prometheus:9090",
		"-enable-config-tracking=true", "-slack-user=flagger"},
	"App Mesh with leader election and tuned clients": {"-log-level=info", "-mesh-provider=appmesh",
		"-metrics-server=http://prometheus.appmesh-system:9090", "-selector-labels=app,name", "-enable-config-tracking=true",
		"-slack-user=flagger", "-enable-leader-election=true", "-leader-election-namespace=kube-system",
		"-event-webhook=http://127.0.0.1:9/events", "-kubeconfig-qps=50", "-kubeconfig-burst=100", "-threadiness=4"},
	"App Mesh v1beta2 for one namespace": {"-log-level=debug", "-mesh-provider=appmesh:v1beta2",
		"-metrics-server=http://prometheus:9090", "-namespace=test", "-enable-config-tracking=false", "-zap-encoding=console"},
}

// Serin starts with each of Flagger's chart command lines: it serves its
// metrics and logs no error.
func TestFlaggerChartArgumentsStartSerin(t *testing.T) {
	st := seed.Stack()
	for name, args := range flaggerChartArgs {
		t.Run(name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "serin.log")
			op, err := framework.RunOperator(st.Bins.Serin, st.Cluster.Kubeconfig, log, args...)
			if err != nil {
				t.Fatalf("serin %s: %v", strings.Join(args, " "), err)
			}
			defer op.Kill()
			healthz := strings.TrimSuffix(op.MetricsURL, "/metrics") + "/healthz"
			framework.Eventually(t, 10*time.Second, "healthz on the metrics port", func(ctx context.Context) (bool, string) {
				resp, err := http.Get(healthz)
				if err != nil {
					return false, err.Error()
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK, resp.Status
			})
			if lines := op.ErrorLines(); len(lines) > 0 || op.Exited() {
				t.Errorf("serin with Flagger's arguments exited or logged errors:\n%s", strings.Join(lines, "\n"))
			}
		})
	}
}

// serin-loadtester starts with Flagger's loadtester chart command line
// (./loadtester -port=8080 -log-level=info -timeout=1h -namespace-regexp=),
// on a free port instead of 8080, and answers /healthz.
func TestFlaggerLoadtesterChartArgumentsStartTheLoadTester(t *testing.T) {
	st := seed.Stack()
	addr, err := framework.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	port := addr[strings.LastIndex(addr, ":")+1:]
	args := []string{"-port=" + port, "-log-level=info", "-timeout=1h", "-namespace-regexp=", "--gate-store=file",
		"--gate-file=" + filepath.Join(t.TempDir(), "gates.json")}
	p, err := cluster.StartProcess(t.TempDir(), "loadtester", st.Bins.LoadTester, args, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cluster.WaitHTTP(ctx, &http.Client{Timeout: time.Second}, "http://127.0.0.1:"+port+"/healthz", "", p); err != nil {
		t.Fatalf("serin-loadtester %s: %v", strings.Join(args, " "), err)
	}
}

// The kustomize bases render with kubectl's kustomize, and the API server
// accepts them: the default install is applied, each provider overlay
// is checked with a server-side dry run on top of it.
func TestKustomizeBasesAreAccepted(t *testing.T) {
	st := seed.Stack()
	kubectl := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(st.Cluster.Binaries.Kubectl, append([]string{"--kubeconfig", st.Cluster.Kubeconfig}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	config := filepath.Join(st.Root, "config")
	out := kubectl("apply", "--server-side", "--force-conflicts", "-k", filepath.Join(config, "default"))
	for _, want := range []string{"deployment.apps/serin serverside-applied", "clusterrole.rbac.authorization.k8s.io/serin serverside-applied",
		"rolebinding.rbac.authorization.k8s.io/serin-leader-election serverside-applied", "customresourcedefinition.apiextensions.k8s.io/canaries.flagger.app serverside-applied"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl apply -k config/default printed no %q:\n%s", want, out)
		}
	}
	for overlay, provider := range map[string]string{"appmesh": "appmesh", "appmesh-v1beta2": "appmesh:v1beta2", "gatewayapi": "gatewayapi:v1"} {
		dir := filepath.Join(config, "overlays", overlay)
		rendered := kubectl("kustomize", dir)
		if !strings.Contains(rendered, "- -mesh-provider="+provider+"\n") {
			t.Errorf("overlay %s does not set -mesh-provider=%s", overlay, provider)
		}
		kubectl("apply", "--server-side", "--force-conflicts", "--dry-run=server", "-k", dir)
	}
}
