package e2e

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/workload"
	"github.com/serin-dev/serin/test/framework"
)

// With -enable-config-tracking=false (Flagger's flag) the primary uses the
// target's ConfigMap and Secret themselves: no -primary copies, nothing in
// status.trackedConfigs.
func TestConfigTrackingOffSharesTheConfigs(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns := e.Namespace(t)
	e.StartOperator(t, "--namespace="+ns, "-enable-config-tracking=false")
	e.Apply(t, ns, "podinfo.yaml")
	e.Apply(t, ns, "canary-v1beta1.yaml")
	canary := waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)

	if canary.Status.TrackedConfigs != nil && len(*canary.Status.TrackedConfigs) > 0 {
		t.Errorf("status.trackedConfigs = %v, want none with tracking off", *canary.Status.TrackedConfigs)
	}
	ctx := context.Background()
	for name, o := range map[string]client.Object{"podinfo-config-primary": &corev1.ConfigMap{}, "podinfo-secret-primary": &corev1.Secret{}} {
		if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, o); !apierrors.IsNotFound(err) {
			t.Errorf("%s: %v, want not found with tracking off", name, err)
		}
	}
	primary := &appsv1.Deployment{}
	framework.MustGet(t, ns, "podinfo-primary", primary)
	refs := workload.ConfigRefs(&primary.Spec.Template.Spec)
	if len(refs) != 2 {
		t.Fatalf("primary references %v, want podinfo-config and podinfo-secret", refs)
	}
	for _, r := range refs {
		if r.Name != "podinfo-config" && r.Name != "podinfo-secret" {
			t.Errorf("primary references %s %s, want the target's own configs", r.Kind, r.Name)
		}
	}
}
