package steer

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// t0 is when the halted release of the fixture started.
var t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

// haltedRelease creates the fixture canary in ns and writes its status: a
// release halted at weight 10 because its success rate fell below 99 %.
func haltedRelease(t *testing.T, ns string) *flaggerv1.Canary {
	t.Helper()
	e := framework.Get()
	ctx := context.Background()
	obj := framework.ReadObjects(t, "canary.yaml")[0]
	obj.SetNamespace(ns)
	e.CreateObjects(t, ns, obj)
	c := &flaggerv1.Canary{}
	framework.MustGet(t, ns, "podinfo", c)
	at := func(sec int) metav1.Time { return metav1.NewTime(t0.Add(time.Duration(sec) * time.Second)) }
	checks := func(rate string, passed bool) []flaggerv1.CheckResult {
		return []flaggerv1.CheckResult{
			{Name: "load-test", Kind: "rollout", Passed: true},
			{Name: "request-success-rate", Kind: "metric", Value: rate, Threshold: ">= 99", Passed: passed},
			{Name: "request-duration", Kind: "metric", Value: "42", Threshold: "<= 500", Passed: true},
		}
	}
	last := &flaggerv1.AnalysisRecord{Time: at(180), CanaryWeight: 10, Checks: checks("97.50", false),
		Decision: "Halt podinfo." + ns + " advancement success rate 97.50% < 99%"}
	last.Checks[1].Message = "success rate 97.50% < 99%"
	c.Status = flaggerv1.CanaryStatus{
		Phase: flaggerv1.CanaryPhaseProgressing, CanaryWeight: 10, FailedChecks: 1, LastAppliedSpec: "5d8f7c9b6",
		LastTransitionTime: at(0), Provider: "gatewayapi:v1", LastAnalysis: last,
		History: []flaggerv1.HistoryRecord{
			{Time: at(0), Revision: "5d8f7c9b6", Phase: flaggerv1.CanaryPhaseProgressing, Decision: "New revision detected! Scaling up podinfo." + ns},
			{Time: at(60), Revision: "5d8f7c9b6", Phase: flaggerv1.CanaryPhaseProgressing, CanaryWeight: 5, Passed: true, Checks: checks("100.00", true), Decision: "Advance podinfo." + ns + " canary weight 5"},
			{Time: at(120), Revision: "5d8f7c9b6", Phase: flaggerv1.CanaryPhaseProgressing, CanaryWeight: 10, Passed: true, Checks: checks("99.80", true), Decision: "Advance podinfo." + ns + " canary weight 10"},
			{Time: at(180), Revision: "5d8f7c9b6", Phase: flaggerv1.CanaryPhaseProgressing, CanaryWeight: 10, FailedChecks: 1, Checks: last.Checks, Decision: last.Decision},
		},
		Conditions: []metav1.Condition{{Type: flaggerv1.PromotedCondition, Status: metav1.ConditionUnknown, Reason: "Progressing",
			Message: "New revision detected, progressing canary analysis.", LastTransitionTime: at(0)}},
	}
	if err := e.Client.Status().Update(ctx, c); err != nil {
		t.Fatal(err)
	}
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: ns, Name: "podinfo.halt"},
		InvolvedObject: corev1.ObjectReference{APIVersion: "flagger.app/v1beta1", Kind: "Canary", Namespace: ns, Name: "podinfo", UID: c.UID},
		Reason:         "Synced", Type: corev1.EventTypeWarning, Count: 1, Message: last.Decision,
		FirstTimestamp: at(180), LastTimestamp: at(180), Source: corev1.EventSource{Component: "flagger"},
	}
	if err := e.Client.Create(ctx, ev); err != nil {
		t.Fatal(err)
	}
	return c
}

// haltedScene is a namespace holding the halted release, with a user who
// may read canaries there (viewer) and one who may also patch them
// (steerer).
func haltedScene(t *testing.T) (ns string, viewer, steerer user) {
	t.Helper()
	ns = framework.Get().Namespace(t)
	haltedRelease(t, ns)
	return ns, newUser(t, ns, "viewer", readCanaries, ns), newUser(t, ns, "steerer", steerCanaries, ns)
}

var buildPlugin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "kubectl-serin-")
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "kubectl-serin"), filepath.Join(framework.Get().Root, "cmd", "kubectl-serin")).CombinedOutput()
	if err != nil {
		return "", &buildError{out: string(out), err: err}
	}
	return dir, nil
})

type buildError struct {
	out string
	err error
}

func (b *buildError) Error() string { return "build kubectl-serin: " + b.err.Error() + "\n" + b.out }

// kubectlSerin runs `kubectl serin args…` as a person holding kubeconfig
// would: kubectl finds the plugin on the PATH.
func kubectlSerin(t *testing.T, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	dir, err := buildPlugin()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(framework.Get().Cluster.Binaries.Kubectl, append([]string{"serin"}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "KUBECONFIG="+kubeconfig, "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ages are the list's relative times (AGE) and the padding after them,
// which move with the clock.
var ages = regexp.MustCompile(`(AGE|\b\d+[ydhms](\d+[dhms])?) +`)

// golden compares got, with ns written as NAMESPACE, to testdata/golden/name.
func golden(t *testing.T, name, ns, got string) {
	t.Helper()
	got = strings.ReplaceAll(got, ns, "NAMESPACE")
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("kubectl serin output differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// The plugin's text output for a halted release: the list, the release's
// timeline, checks, gates and events, and the explanation of the halt.
func TestPluginPrintsAHaltedReleaseAsTheGoldenFilesShow(t *testing.T) {
	t.Parallel()
	ns, viewer, _ := haltedScene(t)
	kubeconfig := writeKubeconfig(t, viewer.token, ns)
	for name, args := range map[string][]string{
		"get.txt":     {"get"},
		"status.txt":  {"status", "podinfo"},
		"explain.txt": {"explain", "podinfo"},
	} {
		out, err := kubectlSerin(t, kubeconfig, args...)
		if err != nil {
			t.Fatalf("kubectl serin %v: %v\n%s", args, err, out)
		}
		if name == "get.txt" {
			out = ages.ReplaceAllString(out, "<age> ")
		}
		golden(t, name, ns, out)
	}
}

// -o json prints what programs parse: the list's rows, the release with
// its timeline and metric series, and the explanation.
func TestPluginJSONOutputParses(t *testing.T) {
	t.Parallel()
	ns, viewer, _ := haltedScene(t)
	kubeconfig := writeKubeconfig(t, viewer.token, ns)
	decode := func(args ...string) map[string]any {
		out, err := kubectlSerin(t, kubeconfig, append(args, "-o", "json")...)
		if err != nil {
			t.Fatalf("kubectl serin %v: %v\n%s", args, err, out)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("kubectl serin %v -o json is not JSON: %v\n%s", args, err, out)
		}
		return v
	}
	list := decode("get")
	items, _ := list["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("get -o json has %d items, want 1: %v", len(items), list)
	}
	if row := items[0].(map[string]any); row["name"] != "podinfo" || row["weight"] != 10.0 || row["phase"] != "Progressing" {
		t.Errorf("get -o json row = %v, want podinfo Progressing at weight 10", row)
	}
	detail := decode("status", "podinfo")
	timeline, _ := detail["timeline"].([]any)
	series, _ := detail["series"].([]any)
	if len(timeline) != 4 || len(series) != 2 {
		t.Errorf("status -o json has %d timeline records and %d metric series, want 4 and 2", len(timeline), len(series))
	}
	explained := decode("explain", "podinfo")
	if d, _ := explained["decision"].(string); !strings.Contains(d, "success rate 97.50% < 99%") {
		t.Errorf("explain -o json decision %q does not give the halt's numbers", d)
	}
}

// A lever is a patch on the canary: a user without patch on canaries is
// refused by the API server, one with it sets the annotation as
// kubectl-serin:<user>, the manager status.levers will name.
func TestPluginLeversNeedPatchOnCanaries(t *testing.T) {
	t.Parallel()
	ns, viewer, steerer := haltedScene(t)
	for _, lever := range []string{"promote", "abort", "retry", "pause"} {
		out, err := kubectlSerin(t, writeKubeconfig(t, viewer.token, ns), lever, "podinfo", "--no-wait")
		if err == nil || !strings.Contains(out, "forbidden") || !strings.Contains(out, `cannot patch resource "canaries"`) {
			t.Errorf("%s by a user without patch: err %v, output %q; want the API server's refusal", lever, err, out)
		}
	}
	c := &flaggerv1.Canary{}
	framework.MustGet(t, ns, "podinfo", c)
	if len(c.Annotations) != 0 {
		t.Fatalf("refused levers left annotations %v", c.Annotations)
	}
	out, err := kubectlSerin(t, writeKubeconfig(t, steerer.token, ns), "pause", "podinfo", "--no-wait")
	if err != nil {
		t.Fatalf("pause by a user with patch: %v\n%s", err, out)
	}
	framework.MustGet(t, ns, "podinfo", c)
	id := c.Annotations[flaggerv1.PauseAnnotation]
	if id == "" {
		t.Fatalf("pause did not set %s: %v", flaggerv1.PauseAnnotation, c.Annotations)
	}
	if manager, want := annotationManager(c, flaggerv1.PauseAnnotation), "kubectl-serin:"+steerer.name; manager != want {
		t.Errorf("the pause annotation's manager is %q, want %q", manager, want)
	}
}
