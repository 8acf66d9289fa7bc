package framework

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/gitops"
)

// MustGet reads object name of namespace ns into o, failing the test if it
// cannot.
func MustGet(t testing.TB, ns, name string, o client.Object) {
	t.Helper()
	if err := Get().Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, o); err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
}

// AssertGenerated checks what every object the operator generates
// carries: the canary as its controller owner, and the Flux markers that
// keep Flux's controllers from reverting it.
func AssertGenerated(t testing.TB, o client.Object, canary *flaggerv1.Canary) {
	t.Helper()
	a := o.GetAnnotations()
	if a[gitops.KustomizeReconcileKey] != gitops.DisabledValue || a[gitops.HelmDriftDetectionKey] != gitops.DisabledValue {
		t.Errorf("%s carries annotations %v, want both Flux markers", o.GetName(), a)
	}
	for _, ref := range o.GetOwnerReferences() {
		if ref.UID == canary.UID && ref.Controller != nil && *ref.Controller {
			return
		}
	}
	t.Errorf("%s is not owned by canary %s: %+v", o.GetName(), canary.Name, o.GetOwnerReferences())
}
