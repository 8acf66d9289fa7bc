package cluster

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binaries are the paths of the control plane's programs, and of the
// Flux controllers the GitOps tests run on it.
type Binaries struct {
	Etcd, KubeAPIServer, KubeControllerManager, KubeScheduler, Kubectl, Kwok, KwokStages string
	// FluxSourceController and FluxKustomizeController are Flux's
	// controllers; FluxCRDs the directory of their CRDs.
	FluxSourceController, FluxKustomizeController, FluxCRDs string
	// Helm installs the charts in the install tests.
	Helm string
}

// RepoRoot returns the directory holding the project's go.mod, searching
// upwards from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.HasPrefix(data, []byte("module github.com/serin-dev/serin\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of github.com/serin-dev/serin above the working directory")
		}
		dir = parent
	}
}

// FindBinaries runs hack/build-tools.sh, which builds what is not cached yet
// (progress on stderr) and names the binaries.
func FindBinaries() (*Binaries, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(root, "hack", "build-tools.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("hack/build-tools.sh: %w", err)
	}
	paths := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			paths[k] = v
		}
	}
	b := &Binaries{
		Etcd: paths["ETCD"], KubeAPIServer: paths["KUBE_APISERVER"],
		KubeControllerManager: paths["KUBE_CONTROLLER_MANAGER"], KubeScheduler: paths["KUBE_SCHEDULER"],
		Kubectl: paths["KUBECTL"], Kwok: paths["KWOK"], KwokStages: paths["KWOK_STAGES"], Helm: paths["HELM"],
		FluxSourceController: paths["FLUX_SOURCE_CONTROLLER"], FluxKustomizeController: paths["FLUX_KUSTOMIZE_CONTROLLER"], FluxCRDs: paths["FLUX_CRDS"],
	}
	for _, p := range []string{b.Etcd, b.KubeAPIServer, b.KubeControllerManager, b.KubeScheduler, b.Kubectl, b.Kwok, b.KwokStages, b.Helm,
		b.FluxSourceController, b.FluxKustomizeController, b.FluxCRDs} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("hack/build-tools.sh did not produce %q: %w", p, err)
		}
	}
	return b, nil
}

// CRDPaths lists the CRD directories a test cluster installs: Serin's own.
func CRDPaths(root string) []string {
	return []string{filepath.Join(root, "config", "crd", "bases")}
}
