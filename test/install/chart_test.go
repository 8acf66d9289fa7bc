package install

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/serin-dev/serin/test/seed"
)

func TestBothChartsPassHelmLint(t *testing.T) {
	for _, c := range []string{"serin", "serin-loadtester"} {
		out := helm(t, "lint", "--strict", chart(c))
		if !strings.Contains(out, "1 chart(s) linted, 0 chart(s) failed") {
			t.Errorf("helm lint %s:\n%s", c, out)
		}
	}
}

// Every value for a feature Serin lacks fails the install with a message
// naming it, instead of being accepted and ignored.
func TestChartsRefuseValuesTheyCannotHonour(t *testing.T) {
	tests := map[string]struct {
		// chart is the chart rendered.
		chart string
		// set is the --set argument.
		set string
		// want is a part of the expected error.
		want string
	}{
		"two Slack proxies":                 {"serin", "slack.proxy=http://a,slack.proxyUrl=http://b", "slack.proxy and slack.proxyUrl name different proxies"},
		"an ingress class":                  {"serin", "ingressClass=nginx", "ingressClass are not supported"},
		"a service mesh kubeconfig":         {"serin", "controlplane.kubeconfig.secretName=mesh", "controlplane.kubeconfig.secretName is not supported"},
		"a bundled Prometheus":              {"serin", "prometheus.install=true", "prometheus.install is not supported"},
		"templated CRDs":                    {"serin", "crd.create=true", "crd.create is not supported"},
		"a Linkerd policy":                  {"serin", "linkerdAuthPolicy.create=true", "linkerdAuthPolicy.create is not supported"},
		"a provider Serin lacks":            {"serin", "meshProvider=contour", `meshProvider "contour" is not supported: use one of kubernetes, appmesh, appmesh:v1beta2, gatewayapi:v1, istio, linkerd`},
		"two replicas without election":     {"serin", "leaderElection.replicaCount=2", "leaderElection.replicaCount above 1 needs leaderElection.enabled"},
		"an Istio load tester":              {"serin-loadtester", "istio.enabled=true", "istio.enabled is not supported"},
		"an unknown gate store":             {"serin-loadtester", "gates.store=redis", `gates.store "redis" is not supported`},
		"backends without a mesh":           {"serin-loadtester", "backends[0]=podinfo.test", "backends needs meshName"},
		"a gate token twice":                {"serin-loadtester", "gates.token.existingSecret=a,gates.token.value=b", "gates.token.existingSecret and gates.token.value are both set"},
		"replicas with file gates":          {"serin-loadtester", "replicaCount=2,gates.store=file", "replicaCount above 1 needs gates.store: configmap"},
		"RBAC rules without a role":         {"serin-loadtester", "rbac.rules[0].verbs[0]=get", "rbac.rules needs rbac.create: true"},
		"annotations for a foreign account": {"serin-loadtester", "serviceAccountName=x,rbac.serviceAccountAnnotations.a=b", "rbac.serviceAccountAnnotations applies to the ServiceAccount the chart creates"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := helmOutput("template", "test", chart(tc.chart), "--set", tc.set)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("helm template --set %s: %v; want an error containing %q", tc.set, err, tc.want)
			}
		})
	}
}

// Flagger's notifier values become Flagger's notifier flags, which the
// operator turns into alert targets.
func TestChartPassesTheNotifierValuesAsFlaggersFlags(t *testing.T) {
	d := find(t, render(t, "serin", "--set", "slack.url=https://hooks.slack.com/services/x,slack.channel=ops,slack.user=serin,"+
		"slack.proxy=http://proxy:3128,msteams.url=https://teams.example/hook,msteams.proxyUrl=http://proxy:3129,clusterName=prod"), "Deployment", "test-serin")
	args := containerArgs(t, d)
	for _, want := range []string{"-slack-url=https://hooks.slack.com/services/x", "-slack-channel=ops", "-slack-user=serin",
		"-slack-proxy-url=http://proxy:3128", "-msteams-url=https://teams.example/hook", "-msteams-proxy-url=http://proxy:3129", "-cluster-name=prod"} {
		if !slices.Contains(args, want) {
			t.Errorf("operator args %v lack %s", args, want)
		}
	}
}

// The chart's ClusterRole and CRDs are the ones controller-gen generates
// (make generate copies them): the chart grants exactly what the code's
// RBAC markers ask for.
func TestChartRBACAndCRDsAreTheGeneratedOnes(t *testing.T) {
	root := seed.Stack().Root
	sameFile(t, filepath.Join(root, "config/rbac/role.yaml"), filepath.Join(root, "charts/serin/files/clusterrole.yaml"))
	crds, err := filepath.Glob(filepath.Join(root, "config/crd/bases/*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("no generated CRDs: %v", err)
	}
	copies, _ := filepath.Glob(filepath.Join(root, "charts/serin/crds/*.yaml"))
	if len(copies) != len(crds) {
		t.Errorf("charts/serin/crds has %d files, config/crd/bases %d: run make generate", len(copies), len(crds))
	}
	for _, c := range crds {
		sameFile(t, c, filepath.Join(root, "charts/serin/crds", filepath.Base(c)))
	}
	generated := generatedRules(t, filepath.Join(root, "config/rbac/role.yaml"))
	role := find(t, render(t, "serin"), "ClusterRole", "test-serin")
	if rules, _, _ := unstructured.NestedSlice(role.Object, "rules"); !reflect.DeepEqual(rules, generated) {
		t.Errorf("rendered ClusterRole rules differ from config/rbac/role.yaml:\n%v\n%v", rules, generated)
	}
}

func sameFile(t *testing.T, want, got string) {
	t.Helper()
	a, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(got)
	if err != nil || !bytes.Equal(a, b) {
		t.Errorf("%s differs from %s (%v): run make generate", got, want, err)
	}
}

// generatedRules are the rules of the ClusterRole in role.yaml.
func generatedRules(t *testing.T, path string) []any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		if obj["kind"] == "ClusterRole" {
			return obj["rules"].([]any)
		}
	}
	t.Fatalf("no ClusterRole in %s", path)
	return nil
}

// The observability kit renders with its values on: the dashboard is valid
// JSON whose every query, and every alert expression, is valid PromQL
// (promtool, from the Debian prometheus package the tests use).
func TestObservabilityKitParses(t *testing.T) {
	objs := render(t, "serin", "--set", "grafanaDashboard.enabled=true,prometheusRule.enabled=true,serviceMonitor.enabled=true,podMonitor.enabled=true")
	find(t, objs, "ServiceMonitor", "test-serin")
	find(t, objs, "PodMonitor", "test-serin")
	cm := find(t, objs, "ConfigMap", "test-serin-dashboard")
	if cm.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap labels %v, want grafana_dashboard=1", cm.GetLabels())
	}
	exprs := dashboardQueries(t, cm)
	for _, metric := range []string{"flagger_canary_weight", "flagger_canary_status", "flagger_canary_duration_seconds_bucket", "flagger_canary_metric_analysis", "flagger_canary_successes_total", "flagger_canary_failures_total"} {
		if !slices.ContainsFunc(exprs, func(e string) bool { return strings.Contains(e, metric) }) {
			t.Errorf("no dashboard query uses %s", metric)
		}
	}
	rule := find(t, objs, "PrometheusRule", "test-serin")
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	alerts := map[string]bool{}
	for _, g := range groups {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			alerts[r.(map[string]any)["alert"].(string)] = true
		}
	}
	if !alerts["SerinCanaryFailed"] || !alerts["SerinCanaryStuck"] {
		t.Errorf("alerts %v, want SerinCanaryFailed and SerinCanaryStuck", alerts)
	}
	checkRules(t, groups, exprs)
}

// dashboardQueries are the PromQL queries of the dashboard ConfigMap's
// panels, which must be valid JSON.
func dashboardQueries(t *testing.T, cm *unstructured.Unstructured) []string {
	t.Helper()
	data, _, _ := unstructured.NestedString(cm.Object, "data", "serin-canaries.json")
	var dash struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(data), &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

// grafanaVariables are replaced by values Prometheus accepts.
var grafanaVariables = strings.NewReplacer("$namespace", ".*", "$canary", ".*", "$__rate_interval", "5m")

// checkRules writes the alerts, and the dashboard queries as recording
// rules, to a rules file and runs promtool check rules on it.
func checkRules(t *testing.T, groups []any, exprs []string) {
	t.Helper()
	var records []map[string]any
	for i, e := range exprs {
		records = append(records, map[string]any{"record": fmt.Sprintf("dashboard:query_%d", i), "expr": grafanaVariables.Replace(e)})
	}
	file := map[string]any{"groups": append(groups, map[string]any{"name": "dashboard", "rules": records})}
	data, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	if leftover := regexp.MustCompile(`\$\w+`).FindString(string(data)); leftover != "" && !strings.Contains(leftover, "$labels") {
		t.Fatalf("unreplaced Grafana variable %s", leftover)
	}
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("promtool", "check", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, data)
	}
	if want := fmt.Sprintf("%d rules found", len(exprs)+2); !strings.Contains(string(out), want) {
		t.Errorf("promtool: %s; want %q", out, want)
	}
}
