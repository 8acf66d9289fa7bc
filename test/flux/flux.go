package flux

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/serin-dev/serin/test/cluster"
	"github.com/serin-dev/serin/test/framework"
)

// User is the identity Flux's controllers use: start the cluster with it
// in cluster.Options.Users, so that the audit log tells Flux's requests
// from the operator's.
const User = "flux"

// FieldManager is kustomize-controller's field manager on what it applies.
const FieldManager = "kustomize-controller"

// Flux is source-controller and kustomize-controller running against a
// local cluster.
type Flux struct {
	procs []*cluster.Process
	// StorageURL is where source-controller serves its artifacts.
	StorageURL string
}

// Start installs Flux's CRDs in c and starts the two controllers (logs in
// dir/logs). It returns once both are ready.
func Start(ctx context.Context, c *cluster.Cluster, dir string) (f *Flux, err error) {
	if _, err := os.Stat(c.KubeconfigFor(User)); err != nil {
		return nil, fmt.Errorf("the cluster has no %q user (cluster.Options.Users): %w", User, err)
	}
	if _, err := envtest.InstallCRDs(c.Config, envtest.CRDInstallOptions{Paths: []string{c.Binaries.FluxCRDs}, ErrorIfPathMissing: true}); err != nil {
		return nil, fmt.Errorf("install Flux CRDs: %w", err)
	}
	f = &Flux{}
	defer func() {
		if err != nil {
			f.Stop()
		}
	}()
	addrs := map[string]string{}
	for _, name := range []string{"storage", "source-metrics", "source-health", "kustomize-metrics", "kustomize-health"} {
		if addrs[name], err = framework.FreeAddr(); err != nil {
			return f, err
		}
	}
	f.StorageURL = "http://" + addrs["storage"]
	storage := filepath.Join(dir, "flux-storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return f, err
	}
	env := []string{"KUBECONFIG=" + c.KubeconfigFor(User)}
	common := []string{"--watch-all-namespaces=true", "--log-encoding=json", "--events-addr="}
	controllers := []struct {
		name, bin, health string
		args              []string
	}{
		{"source-controller", c.Binaries.FluxSourceController, addrs["source-health"], []string{
			"--storage-path=" + storage, "--storage-addr=" + addrs["storage"],
			"--storage-adv-addr=" + addrs["storage"], "--metrics-addr=" + addrs["source-metrics"], "--health-addr=" + addrs["source-health"]}},
		{"kustomize-controller", c.Binaries.FluxKustomizeController, addrs["kustomize-health"], []string{
			"--metrics-addr=" + addrs["kustomize-metrics"], "--health-addr=" + addrs["kustomize-health"]}},
	}
	for _, ctl := range controllers {
		p, err := cluster.StartProcess(dir, ctl.name, ctl.bin, append(common, ctl.args...), env, false)
		if err != nil {
			return f, err
		}
		f.procs = append(f.procs, p)
		if err := cluster.WaitHTTP(ctx, &http.Client{Timeout: time.Second}, "http://"+ctl.health+"/readyz", "", p); err != nil {
			return f, fmt.Errorf("%s not ready: %w", ctl.name, err)
		}
	}
	return f, nil
}

// Stop ends both controllers.
func (f *Flux) Stop() {
	for i := len(f.procs) - 1; i >= 0; i-- {
		f.procs[i].Stop(10 * time.Second)
	}
	f.procs = nil
}

// Exited names a controller that has exited, or returns "".
func (f *Flux) Exited() string {
	for _, p := range f.procs {
		if p.Exited() {
			return p.Name()
		}
	}
	return ""
}
