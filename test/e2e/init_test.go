package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/workload"
	"github.com/serin-dev/serin/test/framework"
)

// The seed's canary, in both API versions, initializes within 30 s: the
// primary is available with the target's template, the services select the
// right pods, the target is at zero and kubectl shows Initialized.
func TestSeedCanaryInitializes(t *testing.T) {
	for _, manifest := range []string{"canary-v1alpha3.yaml", "canary-v1beta1.yaml"} {
		t.Run(manifest, func(t *testing.T) {
			t.Parallel()
			e := framework.Get()
			ns := e.Namespace(t)
			op := e.StartOperator(t, "--namespace="+ns)
			e.Apply(t, ns, "podinfo.yaml")
			e.Apply(t, ns, manifest)

			canary := waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)
			assertInitialized(t, ns, canary)
			out := e.Kubectl(t, "get", "canary", "-n", ns)
			if !strings.Contains(out, "Initialized") || !strings.HasPrefix(strings.Join(strings.Fields(out), " "), "NAME STATUS WEIGHT LASTTRANSITIONTIME podinfo Initialized 0 ") {
				t.Errorf("kubectl get canary does not show Initialized:\n%s", out)
			}
			// -o wide adds the analysis settings; the seed's interval and
			// stepWeight show under either API version.
			version := map[string]string{"canary-v1alpha3.yaml": "v1alpha3", "canary-v1beta1.yaml": "v1beta1"}[manifest]
			wide := strings.Fields(e.Kubectl(t, "get", "canaries."+version+".flagger.app", "-n", ns, "-o", "wide"))
			wantHeader := []string{"NAME", "STATUS", "WEIGHT", "FAILEDCHECKS", "INTERVAL", "MIRROR", "STEPWEIGHT", "STEPWEIGHTS", "MAXWEIGHT", "LASTTRANSITIONTIME"}
			if len(wide) < len(wantHeader)+6 || strings.Join(wide[:len(wantHeader)], " ") != strings.Join(wantHeader, " ") ||
				wide[len(wantHeader)+4] != "10s" || wide[len(wantHeader)+5] != "5" {
				t.Errorf("kubectl get canary -o wide:\n%s", strings.Join(wide, " "))
			}
			if lines := op.ErrorLines(); len(lines) > 0 {
				t.Errorf("operator logged errors:\n%s", strings.Join(lines, "\n"))
			}
		})
	}
}

// initializedSeed starts an operator for a new namespace, creates the
// seed's podinfo and v1beta1 Canary there, and waits until it is
// Initialized.
func initializedSeed(t *testing.T) (string, *framework.Operator) {
	t.Helper()
	e := framework.Get()
	ns := e.Namespace(t)
	op := e.StartOperator(t, "--namespace="+ns)
	e.Apply(t, ns, "podinfo.yaml")
	e.Apply(t, ns, "canary-v1beta1.yaml")
	waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)
	return ns, op
}

// Restarting the operator after initialization writes nothing.
func TestRestartAfterInitializationWritesNothing(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns, op := initializedSeed(t)
	framework.Eventually(t, 30*time.Second, "the first operator to settle", op.Settled)
	// The Deployment controller, not the operator, keeps writing the
	// target's status until its pods are gone.
	framework.Eventually(t, 30*time.Second, "the target's scale-down to finish", func(ctx context.Context) (bool, string) {
		d := &appsv1.Deployment{}
		if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, d); err != nil {
			return false, err.Error()
		}
		s := d.Status
		terminating := s.TerminatingReplicas != nil && *s.TerminatingReplicas > 0
		return s.ObservedGeneration == d.Generation && s.Replicas == 0 && !terminating, fmt.Sprintf("status %+v", s)
	})
	before := resourceVersions(t, ns)
	op.Kill()

	op = e.StartOperator(t, "--namespace="+ns)
	framework.Eventually(t, 30*time.Second, "the restarted operator to settle", op.Settled)
	after := resourceVersions(t, ns)
	for obj, rv := range before {
		if after[obj] != rv {
			t.Errorf("%s was written after the restart: resourceVersion %s -> %s", obj, rv, after[obj])
		}
	}
	if len(after) != len(before) {
		t.Errorf("objects before the restart %v, after %v", before, after)
	}
}

func waitForPhase(t *testing.T, ns, name string, phase flaggerv1.CanaryPhase, timeout time.Duration) *flaggerv1.Canary {
	t.Helper()
	c := &flaggerv1.Canary{}
	framework.Eventually(t, timeout, fmt.Sprintf("canary %s to be %s", name, phase), func(ctx context.Context) (bool, string) {
		if err := framework.Get().Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, c); err != nil {
			return false, err.Error()
		}
		return c.Status.Phase == phase, fmt.Sprintf("phase %q, conditions %+v", c.Status.Phase, c.Status.Conditions)
	})
	return c
}

func assertInitialized(t *testing.T, ns string, canary *flaggerv1.Canary) {
	t.Helper()
	ctx := context.Background()
	cl := framework.Get().Client
	target, primary := &appsv1.Deployment{}, &appsv1.Deployment{}
	framework.MustGet(t, ns, "podinfo", target)
	framework.MustGet(t, ns, "podinfo-primary", primary)

	if got := *target.Spec.Replicas; got != 0 {
		t.Errorf("podinfo has %d replicas, want 0", got)
	}
	if primary.Status.AvailableReplicas != 2 {
		t.Errorf("podinfo-primary has %d available replicas, want 2", primary.Status.AvailableReplicas)
	}
	want := target.Spec.Template.DeepCopy()
	want.Labels["app"] = "podinfo-primary"
	workload.RenameConfigRefs(&want.Spec, map[string]bool{"configmap/podinfo-config": true, "secret/podinfo-secret": true})
	if !equality.Semantic.DeepEqual(*want, primary.Spec.Template) {
		t.Errorf("primary template differs from the target's:\nwant %+v\ngot  %+v", want, primary.Spec.Template)
	}
	if sel := primary.Spec.Selector.MatchLabels; len(sel) != 1 || sel["app"] != "podinfo-primary" {
		t.Errorf("primary selector %v, want app=podinfo-primary", sel)
	}
	assertConfigCopied(t, ns, canary)
	for name, selects := range map[string]string{"podinfo": "podinfo-primary", "podinfo-primary": "podinfo-primary", "podinfo-canary": "podinfo"} {
		svc := &corev1.Service{}
		framework.MustGet(t, ns, name, svc)
		framework.AssertGenerated(t, svc, canary)
		if svc.Spec.Selector["app"] != selects || len(svc.Spec.Selector) != 1 {
			t.Errorf("service %s selects %v, want app=%s", name, svc.Spec.Selector, selects)
		}
		if p := svc.Spec.Ports; len(p) != 1 || p[0].Port != 9898 || p[0].TargetPort.IntValue() != 9898 || p[0].Name != "http" {
			t.Errorf("service %s ports %+v, want http 9898->9898", name, p)
		}
	}
	// The apex and primary services reach exactly the primary's pods.
	var pods corev1.PodList
	if err := cl.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app": "podinfo-primary"}); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"podinfo", "podinfo-primary"} {
		waitForEndpoints(t, ns, svc, len(pods.Items), true)
	}
	framework.AssertGenerated(t, primary, canary)
	cond := meta.FindStatusCondition(canary.Status.Conditions, flaggerv1.PromotedCondition)
	if cond == nil || cond.Reason != "Initialized" {
		t.Errorf("Promoted condition %+v, want reason Initialized", cond)
	}
	assertEvent(t, ns, "podinfo", "Initialization done! podinfo."+ns)
}

func assertConfigCopied(t *testing.T, ns string, canary *flaggerv1.Canary) {
	t.Helper()
	cm, secret := &corev1.ConfigMap{}, &corev1.Secret{}
	framework.MustGet(t, ns, "podinfo-config-primary", cm)
	framework.MustGet(t, ns, "podinfo-secret-primary", secret)
	if cm.Data["color"] != "#34577c" || string(secret.Data["token"]) != "s3cr3t" {
		t.Errorf("config copies hold %v and %v", cm.Data, secret.Data)
	}
	framework.AssertGenerated(t, cm, canary)
	framework.AssertGenerated(t, secret, canary)
	if canary.Status.TrackedConfigs == nil || len(*canary.Status.TrackedConfigs) != 2 {
		t.Errorf("status.trackedConfigs = %v, want configmap/podinfo-config and secret/podinfo-secret", canary.Status.TrackedConfigs)
	}
}

// waitForEndpoints waits until svc has want ready endpoints on port 9898,
// all pods of the primary (primary) or of the target.
func waitForEndpoints(t *testing.T, ns, svc string, want int, primary bool) {
	t.Helper()
	framework.Eventually(t, 30*time.Second, "endpoints of "+svc, func(ctx context.Context) (bool, string) {
		var slices discoveryv1.EndpointSliceList
		sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc})
		if err := framework.Get().Client.List(ctx, &slices, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return false, err.Error()
		}
		ready := 0
		for _, s := range slices.Items {
			for _, p := range s.Ports {
				if p.Port == nil || *p.Port != 9898 {
					return false, fmt.Sprintf("slice %s has port %v, want 9898", s.Name, p.Port)
				}
			}
			for _, ep := range s.Endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready && ep.TargetRef != nil && strings.HasPrefix(ep.TargetRef.Name, "podinfo-primary-") == primary {
					ready++
				}
			}
		}
		return ready == want, fmt.Sprintf("%d ready endpoints (primary pods: %v), want %d", ready, primary, want)
	})
}

func assertEvent(t *testing.T, ns, name, message string) {
	t.Helper()
	framework.Eventually(t, 10*time.Second, "event "+message, func(ctx context.Context) (bool, string) {
		var events corev1.EventList
		if err := framework.Get().Client.List(ctx, &events, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, ev := range events.Items {
			if ev.InvolvedObject.Kind == "Canary" && ev.InvolvedObject.Name == name {
				if ev.Message == message {
					return true, ""
				}
				seen = append(seen, ev.Message)
			}
		}
		return false, fmt.Sprintf("events seen: %q", seen)
	})
}

// resourceVersions of every object the operator generates or touches.
func resourceVersions(t *testing.T, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, o := range []struct {
		name string
		obj  client.Object
	}{
		{"podinfo", &appsv1.Deployment{}}, {"podinfo-primary", &appsv1.Deployment{}},
		{"podinfo", &corev1.Service{}}, {"podinfo-primary", &corev1.Service{}}, {"podinfo-canary", &corev1.Service{}},
		{"podinfo-config-primary", &corev1.ConfigMap{}}, {"podinfo-secret-primary", &corev1.Secret{}},
		{"podinfo", &flaggerv1.Canary{}},
	} {
		framework.MustGet(t, ns, o.name, o.obj)
		out[fmt.Sprintf("%T/%s", o.obj, o.name)] = o.obj.GetResourceVersion()
	}
	return out
}
