package cluster_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/serin-dev/serin/test/cluster"
)

// `localcluster up` (what make cluster-up runs) leaves a working cluster in
// the background and prints KUBECONFIG last; `localcluster down` leaves no
// process behind.
func TestUpThenDownLeavesNoProcess(t *testing.T) {
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "localcluster")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "test", "cluster", "cmd", "localcluster")).CombinedOutput(); err != nil {
		t.Fatalf("build localcluster: %v\n%s", err, out)
	}
	dir := filepath.Join(tmp, "cluster")
	t.Cleanup(func() { _ = cluster.StopDir(dir) })

	out, err := exec.Command(bin, "up", dir).Output()
	if err != nil {
		t.Fatalf("localcluster up: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	kubeconfig, ok := strings.CutPrefix(last, "KUBECONFIG=")
	if !ok || !filepath.IsAbs(kubeconfig) {
		t.Fatalf("last line %q is not KUBECONFIG=<absolute path>", last)
	}
	if _, err := os.Stat(kubeconfig); err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	if n := len(cluster.ProcessesUsing(dir)); n != 5 {
		t.Errorf("%d processes run for the cluster after up, want 5 (etcd, apiserver, controller-manager, scheduler, kwok)", n)
	}
	kubectl := filepath.Join(filepath.Dir(mustBinaries(t).Kubectl), "kubectl")
	nodes, err := exec.Command(kubectl, "--kubeconfig", kubeconfig, "get", "nodes", "--no-headers").CombinedOutput()
	if err != nil || !strings.Contains(string(nodes), "Ready") {
		t.Errorf("kubectl get nodes: %v\n%s", err, nodes)
	}
	crds, err := exec.Command(kubectl, "--kubeconfig", kubeconfig, "get", "crd", "canaries.flagger.app").CombinedOutput()
	if err != nil {
		t.Errorf("the Canary CRD is not installed: %v\n%s", err, crds)
	}

	if out, err := exec.Command(bin, "down", dir).CombinedOutput(); err != nil {
		t.Fatalf("localcluster down: %v\n%s", err, out)
	}
	if pids := cluster.ProcessesUsing(dir); len(pids) > 0 {
		t.Errorf("processes left after down: %v", pids)
	}
}

func mustBinaries(t *testing.T) *cluster.Binaries {
	t.Helper()
	b, err := cluster.FindBinaries()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
