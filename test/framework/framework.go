// Package framework runs Serin's integration tests: one local control plane
// per test package, the operator as a real process that tests can kill and
// restart, per-test namespaces, YAML fixtures and condition waits.
package framework

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	appmeshv1beta1 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta1"
	appmeshv1beta2 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
	"github.com/serin-dev/serin/test/cluster"
)

// Env is the shared state of a test package.
type Env struct {
	Cluster *cluster.Cluster
	Client  client.Client
	Scheme  *runtime.Scheme
	Root    string
	// Artifacts keeps logs of a run; it is removed when all tests pass.
	Artifacts string
	// OperatorBin is the serin binary built for this run.
	OperatorBin string
	// Exporter serves Envoy metrics that Prometheus scrapes every second.
	Exporter *Exporter
	// Prometheus is a real Prometheus server scraping Exporter.
	Prometheus *Prometheus
	// role is config/rbac/role.yaml, which the operator runs with.
	role *operatorRole
}

// Main starts a cluster (and builds the operator), runs the tests and
// stops everything, also on SIGINT/SIGTERM. Logs are kept when tests fail.
// extraCRDs are installed beside Serin's and the Gateway API's, as paths
// relative to the repository root (e.g. test/crds/appmesh/v1beta2).
func Main(m *testing.M, name string, extraCRDs ...string) {
	os.Exit(run(m, name, nil, extraCRDs))
}

// MainCheckingRBAC is Main for a package whose tests exercise everything
// the operator does with the claimed resources (as named in RBAC rules,
// e.g. "deployments", "canaries/status"): when all its tests ran, the
// package fails if config/rbac/role.yaml grants a verb on them that the
// operator never used (see rbac.go).
func MainCheckingRBAC(m *testing.M, name string, claimed []string, extraCRDs ...string) {
	os.Exit(run(m, name, claimed, extraCRDs))
}

func run(m *testing.M, name string, claimed, extraCRDs []string) int {
	root, err := cluster.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	artifacts, err := os.MkdirTemp("", "serin-"+name+"-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	start := time.Now()
	crds, err := CRDPaths(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, p := range extraCRDs {
		crds = append(crds, filepath.Join(root, p))
	}
	c, err := cluster.Start(ctx, cluster.Options{Dir: filepath.Join(artifacts, "cluster"), CRDPaths: crds})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start local cluster:", err)
		return 1
	}
	StopOnSignal(c.Stop)
	fmt.Fprintf(os.Stderr, "local cluster up in %.1fs (%s)\n", time.Since(start).Seconds(), artifacts)
	bin := filepath.Join(artifacts, "serin")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "cmd", "serin")).CombinedOutput(); err != nil {
		c.Stop()
		fmt.Fprintf(os.Stderr, "build operator: %v\n%s", err, out)
		return 1
	}
	scheme := NewScheme()
	cl, err := c.Client(client.Options{Scheme: scheme})
	if err != nil {
		c.Stop()
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	role, err := readOperatorRole(root)
	if err == nil {
		err = role.bindOperator(ctx, cl)
	}
	if err != nil {
		c.Stop()
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	exporter, err := StartExporter()
	if err != nil {
		c.Stop()
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	prom, err := StartPrometheus(filepath.Join(artifacts, "prometheus"), exporter.Addr)
	if err != nil {
		c.Stop()
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env = &Env{Cluster: c, Client: cl, Scheme: scheme, Root: root, Artifacts: artifacts, OperatorBin: bin, Exporter: exporter, Prometheus: prom, role: role}
	code := m.Run()
	code = rbacReport(code, env.checkOperatorRequests(claimed, code == 0 && len(claimed) > 0 && fullRun()))
	prom.Stop()
	c.Stop()
	if code == 0 {
		_ = os.RemoveAll(artifacts)
	} else {
		fmt.Fprintf(os.Stderr, "logs of the failed run are kept in %s\n", artifacts)
	}
	return code
}

var env *Env

// Get returns the package's environment.
func Get() *Env { return env }

// CRDPaths are the CRDs the test cluster installs: Serin's, and the
// Gateway API kinds the gatewayapi router uses, from the pinned module.
func CRDPaths(root string) ([]string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("locate the gateway-api module: %w", err)
	}
	gw := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard")
	paths := cluster.CRDPaths(root)
	for _, kind := range []string{"gatewayclasses", "gateways", "httproutes", "referencegrants"} {
		paths = append(paths, filepath.Join(gw, "gateway.networking.k8s.io_"+kind+".yaml"))
	}
	return paths, nil
}

// NewScheme knows the built-in kinds and flagger.app/v1beta1.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = flaggerv1.AddToScheme(s)
	_ = gatewayv1.Install(s)
	_ = appmeshv1beta2.AddToScheme(s)
	_ = appmeshv1beta1.AddToScheme(s)
	_ = istiov1beta1.AddToScheme(s)
	return s
}

// StopOnSignal runs stop and exits when the test binary is interrupted,
// so an interrupted run leaves no process behind.
func StopOnSignal(stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		stop()
		os.Exit(130)
	}()
}

// Namespace creates a namespace for one test and deletes it afterwards.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "t-"}}
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() { _ = e.Client.Delete(context.Background(), ns) })
	return ns.Name
}

// Kubectl runs the cluster's kubectl and returns its output.
func (e *Env) Kubectl(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(e.Cluster.Binaries.Kubectl, append([]string{"--kubeconfig", e.Cluster.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %v: %v\n%s", args, err, out)
	}
	return string(out)
}
