package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// What only the operator can know is wrong is reported on the Canary as a
// Ready=False condition and a Warning event, nothing half-applied; once
// fixed, the canary initializes.
func TestProblemsAreReportedAndRecoverable(t *testing.T) {
	cases := map[string]struct {
		// skip are the objects of podinfo.yaml left out at first.
		skip []string
		// breakIt changes podinfo.yaml's objects before they are created.
		breakIt func(kind string, o map[string]any)
		reason  string
		message string
		// stalled problems need a change: Stalled=True, no retries.
		stalled bool
		// fix repairs the problem.
		fix func(t *testing.T, ns string)
	}{
		"missing target": {
			skip: []string{"Deployment"}, reason: "TargetNotFound",
			message: "Deployment podinfo not found in namespace %s: create it or correct spec.targetRef.name",
			fix:     func(t *testing.T, ns string) { createOnly(t, ns, "Deployment") },
		},
		"missing ConfigMap": {
			skip: []string{"ConfigMap"}, reason: "ConfigNotFound",
			message: "ConfigMap podinfo-config referenced by deployment podinfo not found: create it or mark the reference optional",
			fix:     func(t *testing.T, ns string) { createOnly(t, ns, "ConfigMap") },
		},
		"no selector label": {
			breakIt: func(kind string, o map[string]any) {
				if kind != "Deployment" {
					return
				}
				spec := o["spec"].(map[string]any)
				spec["selector"] = map[string]any{"matchLabels": map[string]any{"tier": "web"}}
				spec["template"].(map[string]any)["metadata"].(map[string]any)["labels"] = map[string]any{"tier": "web"}
			},
			reason: "SelectorLabelMissing", stalled: true,
			message: "deployment podinfo has none of the selector labels [app name app.kubernetes.io/name] in spec.selector.matchLabels",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := framework.Get()
			ns := e.Namespace(t)
			e.StartOperator(t, "--namespace="+ns)
			for _, o := range framework.ReadObjects(t, "podinfo.yaml") {
				if slices.Contains(tc.skip, o.GetKind()) {
					continue
				}
				if tc.breakIt != nil {
					tc.breakIt(o.GetKind(), o.Object)
				}
				e.CreateObjects(t, ns, o)
			}
			e.Apply(t, ns, "canary-v1beta1.yaml")
			msg := tc.message
			if strings.Contains(msg, "%s") {
				msg = fmt.Sprintf(msg, ns)
			}
			framework.Eventually(t, 30*time.Second, "the problem on the canary", func(ctx context.Context) (bool, string) {
				c := &flaggerv1.Canary{}
				if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, c); err != nil {
					return false, err.Error()
				}
				cond := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.ReadyCondition)
				stalled := meta.IsStatusConditionTrue(c.Status.Conditions, flaggerv1.StalledCondition)
				return cond != nil && cond.Reason == tc.reason && strings.HasPrefix(cond.Message, msg) && stalled == tc.stalled,
					fmt.Sprintf("conditions %+v", c.Status.Conditions)
			})
			assertWarning(t, ns, tc.reason, msg)
			if n := countPrimaries(t, ns); n != 0 {
				t.Errorf("%d primary deployments exist: a half-applied canary", n)
			}
			if tc.fix == nil {
				return
			}
			tc.fix(t, ns)
			waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)
		})
	}
}

func createOnly(t *testing.T, ns, kind string) {
	t.Helper()
	for _, o := range framework.ReadObjects(t, "podinfo.yaml") {
		if o.GetKind() == kind {
			framework.Get().CreateObjects(t, ns, o)
		}
	}
}

func countPrimaries(t *testing.T, ns string) int {
	t.Helper()
	var svcs corev1.ServiceList
	if err := framework.Get().Client.List(context.Background(), &svcs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range svcs.Items {
		if strings.HasSuffix(s.Name, "-primary") {
			n++
		}
	}
	return n
}

func assertWarning(t *testing.T, ns, reason, prefix string) {
	t.Helper()
	framework.Eventually(t, 10*time.Second, "a Warning event "+reason, func(ctx context.Context) (bool, string) {
		var events corev1.EventList
		if err := framework.Get().Client.List(ctx, &events, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		for _, ev := range events.Items {
			if ev.Type == corev1.EventTypeWarning && ev.Reason == reason && strings.HasPrefix(ev.Message, prefix) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events, none a Warning %s", len(events.Items), reason)
	})
}

// A second Canary for a Deployment another Canary already releases is
// refused, naming the first, and /metrics stays scrapable; once the first
// is deleted, the second takes the Deployment over.
func TestASecondCanaryForTheSameDeploymentIsRefused(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns, op := initializedSeed(t)
	second := framework.ReadObjects(t, "canary-v1beta1.yaml")[0]
	second.SetName("podinfo-again")
	e.CreateObjects(t, ns, second)
	framework.Eventually(t, 30*time.Second, "the second canary to be refused", func(ctx context.Context) (bool, string) {
		c := &flaggerv1.Canary{}
		if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo-again"}, c); err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.StalledCondition)
		return cond != nil && cond.Reason == "TargetInUse" && strings.Contains(cond.Message, "already released by canary podinfo,"),
			fmt.Sprintf("conditions %+v", c.Status.Conditions)
	})
	n, err := op.Series(context.Background(), "flagger_canary_weight", map[string]string{"namespace": ns})
	if err != nil || n != 2 {
		t.Errorf("flagger_canary_weight: %d series (%v), want 2: the target and its primary, once", n, err)
	}
	if err := e.Client.Delete(context.Background(), getCanary(t, ns)); err != nil {
		t.Fatal(err)
	}
	waitForPhase(t, ns, "podinfo-again", flaggerv1.CanaryPhaseInitialized, 90*time.Second)
}
