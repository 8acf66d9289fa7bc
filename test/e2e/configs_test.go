package e2e

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// A changed ConfigMap and Secret are a new revision: the canary is analysed
// and promoted, and the primary's copies get the new data. The operator
// watches ConfigMaps and Secrets metadata-only and reads the data of those
// a target uses from the API server when the watch shows a new version.
func TestAChangedConfigIsReleasedAndCopiedToThePrimary(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns := e.Namespace(t)
	e.StartOperator(t, "--namespace="+ns)
	e.Apply(t, ns, "podinfo.yaml")
	canary := framework.ReadObjects(t, "canary-migration.yaml")[0]
	framework.OnKubernetesProvider(t, canary, 5)
	e.CreateObjects(t, ns, canary)
	initialized := waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)
	tracked := maps.Clone(*initialized.Status.TrackedConfigs)

	ctx := context.Background()
	cm := &corev1.ConfigMap{}
	framework.MustGet(t, ns, "podinfo-config", cm)
	cm.Data["color"] = "#ff0000"
	if err := e.Client.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{}
	framework.MustGet(t, ns, "podinfo-secret", secret)
	secret.Data["token"] = []byte("rotated")
	if err := e.Client.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 90*time.Second, "the new configs to be promoted", func(ctx context.Context) (bool, string) {
		c, cmCopy, secretCopy := &flaggerv1.Canary{}, &corev1.ConfigMap{}, &corev1.Secret{}
		for name, o := range map[string]client.Object{"podinfo": c, "podinfo-config-primary": cmCopy, "podinfo-secret-primary": secretCopy} {
			if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, o); err != nil {
				return false, err.Error()
			}
		}
		changed := c.Status.TrackedConfigs != nil && !maps.Equal(*c.Status.TrackedConfigs, tracked)
		return c.Status.Phase == flaggerv1.CanaryPhaseSucceeded && changed && cmCopy.Data["color"] == "#ff0000" && string(secretCopy.Data["token"]) == "rotated",
			fmt.Sprintf("phase %s, tracked configs changed %v, copies %q %q", c.Status.Phase, changed, cmCopy.Data["color"], secretCopy.Data["token"])
	})
	assertEvent(t, ns, "podinfo", "Promotion completed! Scaling down podinfo."+ns)
}
