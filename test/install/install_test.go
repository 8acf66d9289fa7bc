package install

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/serin-dev/serin/test/framework"
	"github.com/serin-dev/serin/test/seed"
)

// releaseNamespace and release are where the operator chart is installed.
const (
	releaseNamespace = "serin-system"
	release          = "canaries"
	fullname         = release + "-serin"
)

// The operator chart installs into the local control plane with leader
// election, a PodDisruptionBudget and the dashboard on; every rendered
// object is accepted. Then the operator runs out of cluster with the
// chart's arguments and a token of the chart's ServiceAccount, and plays
// the seed to promotion and rollback: the chart's RBAC is enough.
func TestChartInstallsAndItsServiceAccountRunsTheSeed(t *testing.T) {
	values := []string{"--set", "leaderElection.enabled=true,leaderElection.replicaCount=2,podDisruptionBudget.enabled=true," +
		"grafanaDashboard.enabled=true,meshProvider=appmesh,meshName=global,slack.user=flagger,includeLabelPrefix=app.kubernetes.io"}
	helm(t, append([]string{"install", release, chart("serin"), "--namespace", releaseNamespace, "--create-namespace"}, values...)...)
	manifest := helm(t, "get", "manifest", release, "--namespace", releaseNamespace)
	objs := decode(t, manifest)
	assertStored(t, objs, releaseNamespace, "Deployment", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
		"Service", "PodDisruptionBudget", "ConfigMap")
	assertLeaderElectionRole(t)

	st := seed.Stack()
	st.OperatorKubeconfig = serviceAccountKubeconfig(t, releaseNamespace, fullname)
	st.OperatorFlags = operatorFlags(t, find(t, objs, "Deployment", fullname))
	t.Cleanup(func() { st.OperatorKubeconfig, st.OperatorFlags = "", nil })
	seed.Play(t, "appmesh")
	assertDashboardAnswers(t, dashboardQueries(t, find(t, objs, "ConfigMap", fullname+"-dashboard")))
}

// assertDashboardAnswers runs a second operator beside the seed's (it
// stands by without the leader-election Lease, and still exports the
// canary gauges from its cache), lets a Prometheus scrape it, and asks
// the dashboard's gauge queries: each returns the seed canary's series.
func assertDashboardAnswers(t *testing.T, queries []string) {
	t.Helper()
	st := seed.Stack()
	dir := t.TempDir()
	op, err := framework.RunOperator(st.Bins.Serin, st.OperatorKubeconfig, filepath.Join(dir, "standby.log"), st.OperatorFlags...)
	if err != nil {
		t.Fatal(err)
	}
	defer op.Kill()
	prom, err := framework.StartPrometheus(filepath.Join(dir, "prometheus"), strings.TrimSuffix(strings.TrimPrefix(op.MetricsURL, "http://"), "/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Stop()
	asked := 0
	for _, q := range queries {
		if !strings.Contains(q, "flagger_canary_weight") && !strings.Contains(q, "max by (namespace, name) (flagger_canary_status") &&
			!strings.Contains(q, "flagger_canary_total") && q != "flagger_info" {
			continue
		}
		asked++
		q = grafanaVariables.Replace(q)
		framework.Eventually(t, 30*time.Second, "an answer to the dashboard query "+q, func(ctx context.Context) (bool, string) {
			return prom.HasResult(ctx, q)
		})
	}
	if asked != 4 {
		t.Errorf("asked %d dashboard gauge queries, want 4 (weight, status, total, info)", asked)
	}
}

// assertStored checks that every object of a release exists in the
// cluster (namespaced ones without a namespace are in namespace), and that
// the release has objects of each of the kinds.
func assertStored(t *testing.T, objs []*unstructured.Unstructured, namespace string, wantKinds ...string) {
	t.Helper()
	kinds := map[string]bool{}
	for _, o := range objs {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		key := client.ObjectKey{Namespace: o.GetNamespace(), Name: o.GetName()}
		if key.Namespace == "" {
			key.Namespace = namespace
		}
		if err := seed.Stack().Client.Get(context.Background(), key, got); err != nil {
			t.Errorf("%s %s of the release: %v", o.GetKind(), key, err)
		}
		kinds[o.GetKind()] = true
	}
	for _, k := range wantKinds {
		if !kinds[k] {
			t.Errorf("the release has no %s", k)
		}
	}
}

// assertLeaderElectionRole: leases in the release namespace.
func assertLeaderElectionRole(t *testing.T) {
	t.Helper()
	role := &rbacv1.Role{}
	key := client.ObjectKey{Namespace: releaseNamespace, Name: fullname + "-leader-election"}
	if err := seed.Stack().Client.Get(context.Background(), key, role); err != nil {
		t.Fatal(err)
	}
	if len(role.Rules) == 0 || !reflect.DeepEqual(role.Rules[0].Resources, []string{"leases"}) {
		t.Errorf("leader-election role rules %v, want leases first", role.Rules)
	}
}

// operatorFlags are the chart's arguments for the operator, less the
// listen addresses and the metrics server, which the test stack chooses.
func operatorFlags(t *testing.T, d *unstructured.Unstructured) []string {
	t.Helper()
	var flags []string
	for _, a := range containerArgs(t, d) {
		if strings.HasPrefix(a, "-port=") || strings.HasPrefix(a, "-health-probe-bind-address=") || strings.HasPrefix(a, "-metrics-server=") {
			continue
		}
		flags = append(flags, a)
	}
	for _, want := range []string{"-enable-leader-election=true", "-leader-election-namespace=" + releaseNamespace, "-mesh-provider=appmesh", "-slack-user=flagger", "-include-label-prefix=app.kubernetes.io"} {
		if !strings.Contains(strings.Join(flags, " "), want) {
			t.Errorf("chart arguments %q lack %s", flags, want)
		}
	}
	return flags
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates as the
// ServiceAccount with a TokenRequest token, as the pod would.
func serviceAccountKubeconfig(t *testing.T, namespace, name string) string {
	t.Helper()
	st := seed.Stack()
	restCfg, err := clientcmd.BuildConfigFromFlags("", st.Cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("request a token for %s/%s: %v", namespace, name, err)
	}
	cfg, err := clientcmd.LoadFromFile(st.Cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, ai := range cfg.AuthInfos {
		ai.Token, ai.ClientCertificateData, ai.ClientKeyData = tr.Status.Token, nil, nil
	}
	path := filepath.Join(t.TempDir(), "serviceaccount.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	// The token is the ServiceAccount's, not the admin's.
	saCfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	saClient, err := kubernetes.NewForConfig(saCfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := saClient.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{}); err == nil {
		t.Fatalf("the ServiceAccount can list namespaces: the kubeconfig is not using its token")
	}
	return path
}
