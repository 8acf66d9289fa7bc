// Package cluster runs a real local Kubernetes control plane for tests and
// the demo: etcd, kube-apiserver, kube-controller-manager, kube-scheduler
// and kwok (which makes a fake node run pods), on loopback on free ports,
// with a kubeconfig for an admin user.
package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// componentOrder is the start order; StopDir stops in reverse.
var componentOrder = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// NodeName is the fake node every pod runs on.
const NodeName = "kwok-node-0"

// Options configure Start.
type Options struct {
	// Dir holds the cluster's state, certificates, logs and kubeconfig.
	Dir string
	// Detached components outlive the starting process (make cluster-up).
	Detached bool
	// CRDPaths are installed once the cluster is up.
	CRDPaths []string
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
	// Users are extra identities (token users with full rights), each with
	// its own kubeconfig (KubeconfigFor), so that a client's requests can
	// be told apart in the audit log.
	Users []string
	// Audit makes the API server log every write (create, update, patch,
	// delete; not events and leases) to AuditLog at the Metadata level.
	// Every request of OperatorUser is logged in any case.
	Audit bool
	// ControlPlaneQPS, when above zero, raises the controller manager's and
	// scheduler's client rate limits (default 20 QPS) and the controller
	// manager's Deployment and ReplicaSet workers, so that thousands of
	// Deployments roll out at the pace of the API server, not of those
	// limits (hack/scalebench). kwok's client is not rate limited.
	ControlPlaneQPS int
}

// Cluster is a running local control plane.
type Cluster struct {
	Dir        string
	Kubeconfig string
	// OperatorKubeconfig authenticates as OperatorUser, who may do only
	// what RBAC grants.
	OperatorKubeconfig string
	Config             *rest.Config
	Binaries           *Binaries
	// AuditLog is the API server's audit log, JSON lines: every request of
	// OperatorUser, and with Options.Audit every write.
	AuditLog string
	// writesAudited is Options.Audit.
	writesAudited bool
	procs         []*Process
	// started remembers how each component was started, to restart it.
	started map[string]started
	// caPEM and token reach the API server's /readyz.
	caPEM []byte
	token string
}

// started is how a component was started.
type started struct {
	bin      string
	args     []string
	detached bool
}

// Start builds (or finds cached) binaries and starts a control plane in
// opts.Dir. On error everything started is stopped again.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	logf := opts.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bins, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	c = &Cluster{Dir: dir, Kubeconfig: filepath.Join(dir, "kubeconfig"), OperatorKubeconfig: filepath.Join(dir, "kubeconfig-"+OperatorUser),
		AuditLog: filepath.Join(dir, "logs", "audit.log"), writesAudited: opts.Audit, Binaries: bins, started: map[string]started{}}
	defer func() {
		if err != nil {
			c.Stop()
			err = fmt.Errorf("%w (component logs in %s)", err, filepath.Join(dir, "logs"))
		}
	}()
	p, err := writePKI(dir, opts.Users)
	if err != nil {
		return c, fmt.Errorf("write certificates: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return c, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	if err := c.start(opts, "etcd", bins.Etcd, etcdArgs(dir, etcdURL, ports[1])); err != nil {
		return c, err
	}
	if err := WaitHTTP(ctx, &http.Client{Timeout: 2 * time.Second}, etcdURL+"/health", "", c.procs[0]); err != nil {
		return c, fmt.Errorf("etcd not healthy: %w", err)
	}
	logf("etcd ready on %s", etcdURL)
	c.caPEM, c.token = p.caCertPEM, p.adminToken
	apiURL := fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	auditArgs, err := writeAuditPolicy(dir, c.AuditLog, opts.Audit)
	if err != nil {
		return c, err
	}
	apiArgs := append(apiserverArgs(dir, p, etcdURL, ports[2]), auditArgs...)
	if err := c.start(opts, "kube-apiserver", bins.KubeAPIServer, apiArgs); err != nil {
		return c, err
	}
	if err := WaitHTTP(ctx, tlsClient(p.caCertPEM), apiURL+"/readyz", p.adminToken, c.procs[1]); err != nil {
		return c, fmt.Errorf("kube-apiserver not ready: %w", err)
	}
	logf("kube-apiserver ready on %s", apiURL)
	// Tests poll often; the default client rate limit (5 QPS) would throttle them.
	c.Config = &rest.Config{Host: apiURL, BearerToken: p.adminToken, TLSClientConfig: rest.TLSClientConfig{CAData: p.caCertPEM}, QPS: 200, Burst: 400}
	if err := writeKubeconfig(c.Kubeconfig, apiURL, p.caCertPEM, "admin", p.adminToken); err != nil {
		return c, err
	}
	for _, u := range opts.Users {
		if err := writeKubeconfig(c.KubeconfigFor(u), apiURL, p.caCertPEM, u, p.userTokens[u]); err != nil {
			return c, err
		}
	}
	if err := writeKubeconfig(c.OperatorKubeconfig, apiURL, p.caCertPEM, OperatorUser, p.operatorToken); err != nil {
		return c, err
	}
	for _, comp := range []struct{ name, bin string }{
		{"kube-controller-manager", bins.KubeControllerManager},
		{"kube-scheduler", bins.KubeScheduler},
		{"kwok", bins.Kwok},
	} {
		args := append(componentArgs(comp.name, c.Kubeconfig, p, bins.KwokStages), raisedLimits(comp.name, opts.ControlPlaneQPS)...)
		if err := c.start(opts, comp.name, comp.bin, args); err != nil {
			return c, err
		}
	}
	if err := c.waitWorkloadReady(ctx); err != nil {
		return c, err
	}
	logf("node %s ready", NodeName)
	if len(opts.CRDPaths) > 0 {
		if _, err := envtest.InstallCRDs(c.Config, envtest.CRDInstallOptions{Paths: opts.CRDPaths, ErrorIfPathMissing: true}); err != nil {
			return c, fmt.Errorf("install CRDs: %w", err)
		}
		logf("CRDs installed from %v", opts.CRDPaths)
	}
	return c, nil
}

func (c *Cluster) start(opts Options, name, bin string, args []string) error {
	p, err := StartProcess(c.Dir, name, bin, args, nil, opts.Detached)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	c.started[name] = started{bin: bin, args: args, detached: opts.Detached}
	return nil
}

// RestartAPIServer stops kube-apiserver and starts it again with the same
// flags on the same port, as an upgrade or a crash would, and returns once
// it is ready. Its state is in etcd; the other components and every client
// reconnect on their own.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	const name = "kube-apiserver"
	for i, p := range c.procs {
		if p.name != name {
			continue
		}
		// A short grace: a crash more than a clean shutdown.
		p.Stop(2 * time.Second)
		st := c.started[name]
		np, err := StartProcess(c.Dir, name, st.bin, st.args, nil, st.detached)
		if err != nil {
			return err
		}
		c.procs[i] = np
		if err := WaitHTTP(ctx, tlsClient(c.caPEM), c.Config.Host+"/readyz", c.token, np); err != nil {
			return fmt.Errorf("kube-apiserver not ready after a restart: %w", err)
		}
		return nil
	}
	return fmt.Errorf("no %s is running", name)
}

// Stop ends every component and waits until none is left.
func (c *Cluster) Stop() {
	_ = StopDir(c.Dir)
	for _, p := range c.procs {
		<-p.done
	}
}

// Client returns a controller-runtime client for the cluster.
func (c *Cluster) Client(opts client.Options) (client.Client, error) {
	return client.New(c.Config, opts)
}

func etcdArgs(dir, clientURL string, peerPort int) []string {
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	return []string{
		"--name=local", "--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + clientURL, "--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=local=" + peerURL,
		// A test cluster needs no durability; fsync dominates its latency.
		"--unsafe-no-fsync", "--log-level=warn",
	}
}

func apiserverArgs(dir string, p *pki, etcdURL string, port int) []string {
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + p.certFile, "--tls-private-key-file=" + p.keyFile,
		"--client-ca-file=" + p.caFile,
		"--token-auth-file=" + p.tokenFile,
		"--authorization-mode=RBAC",
		// A loopback address cannot be published as the kubernetes endpoint.
		"--endpoint-reconciler-type=none",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + p.saPubFile,
		"--service-account-signing-key-file=" + p.saKeyFile,
		// Every canary makes three Services: a /12 leaves room for thousands.
		"--service-cluster-ip-range=10.96.0.0/12",
		"--cert-dir=" + filepath.Join(dir, "pki"),
		"--v=0",
	}
}

func componentArgs(name, kubeconfig string, p *pki, kwokStages string) []string {
	switch name {
	case "kube-controller-manager":
		return []string{
			"--kubeconfig=" + kubeconfig, "--leader-elect=false",
			"--bind-address=127.0.0.1", "--secure-port=0",
			"--service-account-private-key-file=" + p.saKeyFile, "--root-ca-file=" + p.caFile,
			"--use-service-account-credentials=false",
		}
	case "kube-scheduler":
		return []string{"--kubeconfig=" + kubeconfig, "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0"}
	default: // kwok
		return []string{
			"--kubeconfig=" + kubeconfig, "--config=" + kwokStages,
			"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
			"--cidr=10.0.0.1/16", "--node-ip=10.0.0.1", "--node-lease-duration-seconds=40",
		}
	}
}

// raisedLimits are the flags of Options.ControlPlaneQPS for component name.
func raisedLimits(name string, qps int) []string {
	if qps <= 0 || name == "kwok" {
		return nil
	}
	flags := []string{"--kube-api-qps=" + strconv.Itoa(qps), "--kube-api-burst=" + strconv.Itoa(2*qps)}
	if name == "kube-controller-manager" {
		flags = append(flags, "--concurrent-deployment-syncs=20", "--concurrent-replicaset-syncs=20")
	}
	return flags
}

// waitWorkloadReady creates the fake node and waits until pods can run:
// the node is Ready and untainted, and the default service account exists.
func (c *Cluster) waitWorkloadReady(ctx context.Context) error {
	cl, err := c.Client(client.Options{})
	if err != nil {
		return err
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        NodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"type": "kwok", "kubernetes.io/hostname": NodeName, "kubernetes.io/os": "linux"},
		},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{}, Capacity: corev1.ResourceList{}},
	}
	if err := cl.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node %s: %w", NodeName, err)
	}
	return poll(ctx, 60*time.Second, func() (bool, error) {
		for _, p := range c.procs {
			if p.Exited() {
				return false, fmt.Errorf("%s exited", p.name)
			}
		}
		var n corev1.Node
		if err := cl.Get(ctx, types.NamespacedName{Name: NodeName}, &n); err != nil {
			return false, nil
		}
		ready := false
		for _, cond := range n.Status.Conditions {
			ready = ready || (cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue)
		}
		if !ready || len(n.Spec.Taints) > 0 {
			return false, nil
		}
		var sa corev1.ServiceAccount
		return cl.Get(ctx, types.NamespacedName{Namespace: "default", Name: "default"}, &sa) == nil, nil
	})
}

// KubeconfigFor is the kubeconfig of one of Options.Users.
func (c *Cluster) KubeconfigFor(user string) string {
	return filepath.Join(c.Dir, "kubeconfig-"+user)
}

func writeKubeconfig(path, server string, caPEM []byte, user, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["serin-local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["serin-local"] = &clientcmdapi.Context{Cluster: "serin-local", AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = "serin-local"
	return clientcmd.WriteToFile(*cfg, path)
}

func tlsClient(caPEM []byte) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// WaitHTTP polls url until it answers 200, failing early if p exits.
func WaitHTTP(ctx context.Context, hc *http.Client, url, token string, p *Process) error {
	return poll(ctx, 60*time.Second, func() (bool, error) {
		if p.Exited() {
			return false, fmt.Errorf("%s exited (see logs/%s.log)", p.name, p.name)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// poll calls cond every 100 ms until it is true, errs, or timeout passes.
func poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.New("timed out")
		case <-tick.C:
		}
	}
}

// freePorts reserves n distinct loopback ports.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve a port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
