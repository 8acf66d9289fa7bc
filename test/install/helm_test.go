package install

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/serin-dev/serin/test/framework"
	"github.com/serin-dev/serin/test/seed"
)

// helmOutput runs the pinned helm against the test cluster, with its
// caches and configuration in the stack's folder.
func helmOutput(args ...string) (string, error) {
	st := seed.Stack()
	home := filepath.Join(st.Dir, "helm")
	cmd := exec.Command(st.Cluster.Binaries.Helm, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+st.Cluster.Kubeconfig,
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"), "HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

func helm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := helmOutput(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// chart is the path of one of the repository's charts.
func chart(name string) string { return filepath.Join(seed.Stack().Root, "charts", name) }

// render runs helm template and parses the objects.
func render(t *testing.T, chartName string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	return decode(t, helm(t, append([]string{"template", "test", chart(chartName), "--namespace", "serin-system"}, args...)...))
}

// decode parses rendered YAML.
func decode(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := framework.DecodeObjects([]byte(manifest))
	if err != nil {
		t.Fatalf("parse rendered objects: %v", err)
	}
	return objs
}

// find returns the rendered object of a kind and name, or fails.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	var seen []string
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
		seen = append(seen, o.GetKind()+"/"+o.GetName())
	}
	t.Fatalf("no %s %s among %v", kind, name, seen)
	return nil
}

// containerArgs are the args of a rendered Deployment's first container.
func containerArgs(t *testing.T, d *unstructured.Unstructured) []string {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		t.Fatalf("deployment %s has no containers", d.GetName())
	}
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	return args
}
