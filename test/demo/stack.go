package demo

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/serin-dev/serin/test/cluster"
	"github.com/serin-dev/serin/test/flux"
	"github.com/serin-dev/serin/test/framework"
)

// Options configure a Stack.
type Options struct {
	// Dir holds the stack's state, binaries and logs.
	Dir string
	// AppMesh is the App Mesh API the cluster serves, v1beta2 (default)
	// or v1beta1: the two share their CRD names, so a cluster has one.
	AppMesh string
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
	// GitOps also starts a git server and Flux (source-controller and
	// kustomize-controller, with their own identity), and has the API
	// server write an audit log; scenarios then release by git commits.
	GitOps bool
}

// Binaries are the programs the stack builds from this repository.
type Binaries struct {
	Serin, LoadTester, Emulator, Podinfo string
}

// Stack is everything the seed scenario runs on: the local control plane
// (with Serin's, Gateway API's, Istio's and one App Mesh version's CRDs), the
// podinfo backend, the mesh emulator, a Prometheus scraping both every
// second, and the load tester. Operators are started per namespace with
// StartOperator.
type Stack struct {
	Root    string
	Dir     string
	Cluster *cluster.Cluster
	Client  client.Client
	Bins    Binaries
	// Prometheus scrapes the emulator's Envoy metrics and the podinfo
	// backend's http_request_duration_seconds, which the built-in metrics
	// of gatewayapi:v1 and kubernetes read.
	Prometheus *framework.Prometheus
	// EmulatorURL serves the virtual hosts (route by Host).
	EmulatorURL string
	// EmulatorAdminURL serves /metrics and /debug/traffic.
	EmulatorAdminURL string
	// LoadTesterURL is the load tester's webhook endpoint.
	LoadTesterURL string
	// Git and Flux run with Options.GitOps.
	Git  *flux.GitServer
	Flux *flux.Flux
	// OperatorKubeconfig, when set, is the kubeconfig operators run with
	// instead of the cluster admin's (test/install uses a token of the
	// chart's ServiceAccount).
	OperatorKubeconfig string
	// OperatorFlags are appended to every operator's command line.
	OperatorFlags []string

	logf      func(format string, args ...any)
	mu        sync.Mutex
	procs     []*cluster.Process
	operators []*framework.Operator
}

// Start builds the binaries, starts the cluster and the helper programs.
// On error everything started is stopped again.
func Start(ctx context.Context, opts Options) (s *Stack, err error) {
	root, err := cluster.RepoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	s = &Stack{Root: root, Dir: dir, logf: opts.Log}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()
	if err := s.startCluster(ctx, opts.AppMesh, opts.GitOps); err != nil {
		return s, err
	}
	if opts.GitOps {
		if err := s.startGitOps(ctx); err != nil {
			return s, err
		}
	}
	return s, s.startHelpers(ctx)
}

// startCluster builds this repository's programs while the control plane
// starts: both take seconds, mostly on different resources.
func (s *Stack) startCluster(ctx context.Context, appMesh string, gitOps bool) error {
	if appMesh == "" {
		appMesh = "v1beta2"
	}
	crds, err := framework.CRDPaths(s.Root)
	if err != nil {
		return err
	}
	crds = append(crds, filepath.Join(s.Root, "test", "crds", "appmesh", appMesh), filepath.Join(s.Root, "test", "crds", "istio"))
	built := make(chan error, 1)
	go func() { built <- s.build(ctx) }()
	start := time.Now()
	opts := cluster.Options{Dir: filepath.Join(s.Dir, "cluster"), CRDPaths: crds}
	if gitOps {
		opts.Users, opts.Audit = []string{flux.User}, true
	}
	c, err := cluster.Start(ctx, opts)
	took := time.Since(start)
	buildErr := <-built
	if c != nil {
		s.Cluster = c
	}
	if err != nil {
		return fmt.Errorf("start the local control plane: %w", err)
	}
	if buildErr != nil {
		return buildErr
	}
	s.logf("Local control plane up in %.1fs (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok; Gateway API, Istio and App Mesh %s CRDs)", took.Seconds(), appMesh)
	s.Client, err = c.Client(client.Options{Scheme: framework.NewScheme()})
	return err
}

// startHelpers starts the backend, the emulator in front of it, the
// Prometheus that scrapes both, and the load tester.
func (s *Stack) startHelpers(ctx context.Context) error {
	// The load tester runs hey from PATH; without it every load-test
	// webhook would fail and the analysis halt for the wrong reason.
	if _, err := exec.LookPath("hey"); err != nil {
		return fmt.Errorf("hey is not installed (apt-get install hey; .ci/run and hack/demo.sh do it): %w", err)
	}
	addrs := map[string]string{}
	for _, name := range []string{"podinfo", "emulator", "emulator-admin", "loadtester"} {
		a, err := framework.FreeAddr()
		if err != nil {
			return err
		}
		addrs[name] = a
	}
	podinfoURL := "http://" + addrs["podinfo"]
	s.EmulatorURL, s.EmulatorAdminURL = "http://"+addrs["emulator"], "http://"+addrs["emulator-admin"]
	s.LoadTesterURL = "http://" + addrs["loadtester"]
	helpers := []struct {
		name, bin, ready string
		args             []string
	}{
		{"podinfo", s.Bins.Podinfo, podinfoURL + "/healthz", []string{"--listen=" + addrs["podinfo"]}},
		{"mesh-emulator", s.Bins.Emulator, s.EmulatorAdminURL + "/readyz", []string{
			"--listen=" + addrs["emulator"], "--admin-listen=" + addrs["emulator-admin"], "--backend=" + podinfoURL}},
		{"serin-loadtester", s.Bins.LoadTester, s.LoadTesterURL + "/healthz", []string{
			"--listen-address=" + addrs["loadtester"], "--gate-store=file", "--gate-file=" + filepath.Join(s.Dir, "gates.json")}},
	}
	for _, h := range helpers {
		p, err := cluster.StartProcess(s.Dir, h.name, h.bin, h.args, []string{"KUBECONFIG=" + s.Cluster.Kubeconfig}, false)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.procs = append(s.procs, p)
		s.mu.Unlock()
		if err := cluster.WaitHTTP(ctx, &http.Client{Timeout: time.Second}, h.ready, "", p); err != nil {
			return err
		}
	}
	// The emulator's /metrics has the meshes' series; the backend's, each
	// pod's own request histogram.
	prom, err := framework.StartPrometheus(filepath.Join(s.Dir, "prometheus"), addrs["emulator-admin"], addrs["podinfo"])
	if err != nil {
		return err
	}
	s.Prometheus = prom
	s.logf("podinfo backend, mesh emulator (%s), Prometheus (%s, 1s scrape) and load tester (%s) up", s.EmulatorURL, prom.URL, s.LoadTesterURL)
	return nil
}

// StartOperator runs serin for one namespace with a default mesh provider,
// querying the stack's Prometheus. Its log is <dir>/logs/serin-<ns>.log.
func (s *Stack) StartOperator(provider, namespace string) (*framework.Operator, error) {
	flags := []string{"--mesh-provider=" + provider, "--metrics-server=" + s.Prometheus.URL, "--namespace=" + namespace}
	if provider == "appmesh" {
		// App Mesh v1beta1 objects need a mesh; the seed's Canary names none.
		flags = append(flags, "--mesh-name=global")
	}
	kubeconfig := s.Cluster.Kubeconfig
	if s.OperatorKubeconfig != "" {
		kubeconfig = s.OperatorKubeconfig
	}
	flags = append(flags, s.OperatorFlags...)
	op, err := framework.RunOperator(s.Bins.Serin, kubeconfig, filepath.Join(s.Dir, "logs", "serin-"+namespace+".log"), flags...)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.operators = append(s.operators, op)
	s.mu.Unlock()
	// Its flagger_canary_weight and flagger_canary_status are what
	// `serin replay` reads the live steps from.
	if u, err := url.Parse(op.MetricsURL); err == nil {
		if err := s.Prometheus.AddTarget(u.Host); err != nil {
			return nil, fmt.Errorf("scrape the operator: %w", err)
		}
		up := fmt.Sprintf(`up{instance=%q} == 1`, u.Host)
		if err := s.Prometheus.WaitForResult(context.Background(), up, 30*time.Second); err != nil {
			return nil, fmt.Errorf("prometheus scrapes the operator at %s: %w", u.Host, err)
		}
	}
	return op, nil
}

// Kubectl runs the cluster's kubectl.
func (s *Stack) Kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.Cluster.Binaries.Kubectl, append([]string{"--kubeconfig", s.Cluster.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// Stop ends the operators, the helpers (the load tester stops its hey
// commands), Prometheus and the cluster. Processes of the stack that are
// still alive after that (see Leftovers) are killed and returned: a clean
// stop returns none.
func (s *Stack) Stop() (killed []int) {
	s.mu.Lock()
	ops, procs := s.operators, s.procs
	s.operators, s.procs = nil, nil
	s.mu.Unlock()
	for _, op := range ops {
		op.Kill()
	}
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop(10 * time.Second)
	}
	if s.Prometheus != nil {
		s.Prometheus.Stop()
		s.Prometheus = nil
	}
	if s.Flux != nil {
		s.Flux.Stop()
		s.Flux = nil
	}
	if s.Git != nil {
		s.Git.Stop()
		s.Git = nil
	}
	if s.Cluster != nil {
		s.Cluster.Stop()
	}
	killed = s.Leftovers()
	for _, pid := range killed {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return killed
}

// Leftovers lists live processes started by the stack: any that runs from
// its directory or calls its emulator (a hey the load tester started).
func (s *Stack) Leftovers() []int {
	pids := OthersUsing(s.Dir)
	if s.EmulatorURL != "" {
		// With the slash, so that port 4123 does not match 41234.
		pids = append(pids, OthersUsing(s.EmulatorURL+"/")...)
	}
	return pids
}
