package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// The target's autoscaler gets a primary copy aimed at the primary, and a
// promotion carries changes of the autoscaler over to the copy.
func TestPrimaryAutoscalerFollowsTheTargets(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns := e.Namespace(t)
	e.StartOperator(t, "--namespace="+ns)
	e.Apply(t, ns, "podinfo.yaml")
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "podinfo"},
			MinReplicas:    ptr.To[int32](2), MaxReplicas: 4,
		},
	}
	if err := e.Client.Create(context.Background(), hpa); err != nil {
		t.Fatal(err)
	}
	canary := framework.ReadObjects(t, "canary-migration.yaml")[0]
	_ = unstructured.SetNestedField(canary.Object, "gatewayapi:v1", "spec", "provider")
	_ = unstructured.SetNestedMap(canary.Object, map[string]any{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": "podinfo"}, "spec", "autoscalerRef")
	e.CreateObjects(t, ns, canary)
	waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)
	waitForPrimaryHPA(t, ns, 4)

	framework.MustGet(t, ns, "podinfo", hpa)
	patch := client.MergeFrom(hpa.DeepCopy())
	hpa.Spec.MaxReplicas = 6
	if err := e.Client.Patch(context.Background(), hpa, patch); err != nil {
		t.Fatal(err)
	}
	(&release{t: t, e: e, ns: ns}).deploy("stefanprodan/podinfo:3.1.1")
	waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseSucceeded, 60*time.Second)
	waitForPrimaryHPA(t, ns, 6)
}

func waitForPrimaryHPA(t *testing.T, ns string, maxReplicas int32) {
	t.Helper()
	framework.Eventually(t, 30*time.Second, "the primary autoscaler", func(ctx context.Context) (bool, string) {
		p := &autoscalingv2.HorizontalPodAutoscaler{}
		if err := framework.Get().Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo-primary"}, p); err != nil {
			return false, err.Error()
		}
		ref := p.Spec.ScaleTargetRef
		return ref.Name == "podinfo-primary" && p.Spec.MaxReplicas == maxReplicas && len(p.OwnerReferences) == 1,
			fmt.Sprintf("target %s, maxReplicas %d, owners %d", ref.Name, p.Spec.MaxReplicas, len(p.OwnerReferences))
	})
}
