package framework

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// MustGet reads object name of namespace ns into o, failing the test if it
// cannot.
func MustGet(t testing.TB, ns, name string, o client.Object) {
	t.Helper()
	if err := Get().Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, o); err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
}

// AssertOwned checks that the canary is o's controller owner.
func AssertOwned(t testing.TB, o client.Object, canary *flaggerv1.Canary) {
	t.Helper()
	for _, ref := range o.GetOwnerReferences() {
		if ref.UID == canary.UID && ref.Controller != nil && *ref.Controller {
			return
		}
	}
	t.Errorf("%s is not owned by canary %s: %+v", o.GetName(), canary.Name, o.GetOwnerReferences())
}
