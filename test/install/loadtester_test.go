package install

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/serin-dev/serin/test/seed"
)

// The load tester chart with the seed's HelmRelease values renders an App
// Mesh v1beta1 VirtualNode for the load tester whose backends are the
// seed's virtual services, and installs into a cluster serving App Mesh
// v1beta1.
func TestLoadTesterChartWithTheSeedValuesMakesTheVirtualNode(t *testing.T) {
	values := []string{"--set", "fullnameOverride=load-tester,meshName=appmesh-dev,backends[0]=podinfo.prod,backends[1]=podinfo-canary.prod"}
	objs := render(t, "serin-loadtester", values...)
	vn := find(t, objs, "VirtualNode", "load-tester")
	assertSeedVirtualNode(t, vn)
	args := containerArgs(t, find(t, objs, "Deployment", "load-tester"))
	for _, want := range []string{"-port=8080", "-log-level=info", "-timeout=1h", "--gate-store=configmap"} {
		if !slices.Contains(args, want) {
			t.Errorf("load tester args %q lack %s", args, want)
		}
	}

	helm(t, append([]string{"install", "load-tester", chart("serin-loadtester"), "--namespace", "prod", "--create-namespace"}, values...)...)
	stored := &unstructured.Unstructured{}
	stored.SetGroupVersionKind(vn.GroupVersionKind())
	if err := seed.Stack().Client.Get(context.Background(), client.ObjectKey{Namespace: "prod", Name: "load-tester"}, stored); err != nil {
		t.Fatalf("the VirtualNode was not stored: %v", err)
	}
	assertSeedVirtualNode(t, stored)
	manifest := helm(t, "get", "manifest", "load-tester", "--namespace", "prod")
	assertStored(t, decode(t, manifest), "prod", "Deployment", "Service", "ServiceAccount", "Role", "RoleBinding", "VirtualNode")
}

func assertSeedVirtualNode(t *testing.T, vn *unstructured.Unstructured) {
	t.Helper()
	if vn.GetAPIVersion() != "appmesh.k8s.aws/v1beta1" {
		t.Errorf("VirtualNode apiVersion %s, want appmesh.k8s.aws/v1beta1", vn.GetAPIVersion())
	}
	mesh, _, _ := unstructured.NestedString(vn.Object, "spec", "meshName")
	backends, _, _ := unstructured.NestedSlice(vn.Object, "spec", "backends")
	want := []any{
		map[string]any{"virtualService": map[string]any{"virtualServiceName": "podinfo.prod"}},
		map[string]any{"virtualService": map[string]any{"virtualServiceName": "podinfo-canary.prod"}},
	}
	if mesh != "appmesh-dev" || !reflect.DeepEqual(backends, want) {
		t.Errorf("VirtualNode mesh %q backends %v; want appmesh-dev and %v", mesh, backends, want)
	}
}
