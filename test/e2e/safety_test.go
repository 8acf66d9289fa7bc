package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

var healthyTraffic = framework.Traffic{RPS: 20, SuccessRatio: 1, Latency: 20 * time.Millisecond}

// kubectl wait works on a release: Reconciling appears when a revision is
// detected, then Promoted turns True on promotion, or False on rollback.
func TestKubectlWaitsForPromotionAndForFailure(t *testing.T) {
	t.Parallel()
	r := newRelease(t, nil)
	wait := func(condition string) {
		r.e.Kubectl(t, "wait", "canary/podinfo", "-n", r.ns, "--for=condition="+condition, "--timeout=120s")
	}
	r.serve(healthyTraffic)
	r.deploy("stefanprodan/podinfo:3.1.1")
	wait("Reconciling")
	wait("Promoted")
	if c := getCanary(t, r.ns); c.Status.Phase != flaggerv1.CanaryPhaseSucceeded {
		t.Errorf("Promoted is True in phase %s, want Succeeded", c.Status.Phase)
	}
	r.serve(framework.Traffic{RPS: 20, SuccessRatio: 0.6, Latency: 20 * time.Millisecond})
	r.deploy("stefanprodan/podinfo:3.0.2")
	wait("Reconciling")
	wait("Promoted=False")
	c := getCanary(t, r.ns)
	if c.Status.Phase != flaggerv1.CanaryPhaseFailed {
		t.Errorf("Promoted is False in phase %s, want Failed", c.Status.Phase)
	}
	if cond := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.ReconcilingCondition); cond != nil {
		t.Errorf("Reconciling %+v on a failed release, want none", cond)
	}
}

// A rollback sends all traffic back to the primary before any hook or
// notification goes out: when the post-rollout webhook and the event
// webhooks are called, the HTTPRoute already routes 100/0, although both
// receivers hang.
func TestARollbackMovesTheRoutesBeforeAnyHookOrEvent(t *testing.T) {
	t.Parallel()
	hooks := newScriptedHooks(t, 0)
	r := newRelease(t, []string{"--event-webhook=" + hooks.url("/operator-event")}, hooks.register("rollback", "post-rollout", "event"))
	r.serve(healthyTraffic)
	r.deploy("stefanprodan/podinfo:3.1.1")
	r.waitForWeight(10)
	hooks.arm()
	waitForPhase(t, r.ns, "podinfo", flaggerv1.CanaryPhaseFailed, 60*time.Second)
	framework.Eventually(t, 30*time.Second, "the post-rollout hook and the rollback events", func(context.Context) (bool, string) {
		seen := strings.Join(hooks.seen(), "\n")
		return strings.Contains(seen, "/post-rollout") && strings.Contains(seen, "/event Canary failed!") &&
			strings.Contains(seen, "/operator-event Canary failed!"), seen
	})
	for _, a := range hooks.seen() {
		if strings.Contains(a, "Rolling back") || strings.Contains(a, "Canary failed!") || strings.HasPrefix(a, "/post-rollout") {
			if !strings.HasSuffix(a, " 100/0") {
				t.Errorf("called while the routes were not 100/0: %s", a)
			}
		}
	}
}

// selfHealing is a release held at weight 10 by a traffic gate; it is
// broken in one way and must recover or fail safely.
type selfHealing struct {
	*release
	hooks *scriptedHooks
}

func newHeldRelease(t *testing.T) selfHealing {
	hooks := newScriptedHooks(t, 10)
	r := newRelease(t, nil, hooks.register("confirm-traffic-increase"))
	r.serve(healthyTraffic)
	r.deploy("stefanprodan/podinfo:3.1.1")
	r.waitForWeight(10)
	return selfHealing{release: r, hooks: hooks}
}

func (s selfHealing) delete(o client.Object, name string) {
	s.t.Helper()
	framework.MustGet(s.t, s.ns, name, o)
	if err := s.e.Client.Delete(context.Background(), o); err != nil {
		s.t.Fatal(err)
	}
}

// A primary deleted by hand in the middle of a release comes back with
// the last promoted revision (not the one under analysis) and the
// primary's replicas; the release then carries on to promotion.
func TestADeletedPrimaryIsRecreatedAndTheReleaseGoesOn(t *testing.T) {
	t.Parallel()
	s := newHeldRelease(t)
	old := &appsv1.Deployment{}
	framework.MustGet(t, s.ns, "podinfo-primary", old)
	s.delete(&appsv1.Deployment{}, "podinfo-primary")
	framework.Eventually(t, 30*time.Second, "the primary to be recreated", func(ctx context.Context) (bool, string) {
		d := &appsv1.Deployment{}
		if err := s.e.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: "podinfo-primary"}, d); err != nil {
			return false, err.Error()
		}
		img := d.Spec.Template.Spec.Containers[0].Image
		return d.UID != old.UID && img == "stefanprodan/podinfo:3.1.0" && *d.Spec.Replicas == 2,
			fmt.Sprintf("uid %s (old %s), image %s, replicas %d", d.UID, old.UID, img, *d.Spec.Replicas)
	})
	assertWarning(t, s.ns, "PrimaryRestored", "Deployment podinfo-primary."+s.ns+" was deleted")
	s.hooks.open()
	waitForPhase(t, s.ns, "podinfo", flaggerv1.CanaryPhaseSucceeded, 120*time.Second)
	s.assertSettled("stefanprodan/podinfo:3.1.1")
}

// A release whose target, or a ConfigMap the target uses, is deleted is
// rolled back: Failed, all traffic on the primary, a Warning event and a
// condition naming what disappeared.
func TestAReleaseThatLosesWhatItReleasesIsRolledBack(t *testing.T) {
	cases := map[string]struct {
		obj     client.Object
		name    string
		reason  string
		message string
	}{
		"target":    {&appsv1.Deployment{}, "podinfo", "TargetNotFound", "target Deployment podinfo was deleted"},
		"ConfigMap": {&corev1.ConfigMap{}, "podinfo-config", "ConfigNotFound", "ConfigMap podinfo-config used by podinfo was deleted"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newHeldRelease(t)
			s.delete(tc.obj, tc.name)
			waitForPhase(t, s.ns, "podinfo", flaggerv1.CanaryPhaseFailed, 30*time.Second)
			assertWarning(t, s.ns, "RollingBack", "Rolling back podinfo."+s.ns+" "+tc.message)
			framework.Eventually(t, 30*time.Second, "routes 100/0", func(context.Context) (bool, string) {
				w := s.hooks.routeWeights()
				return w == "100/0", w
			})
			framework.Eventually(t, 10*time.Second, "conditions naming what went", func(context.Context) (bool, string) {
				c := getCanary(t, s.ns)
				ready := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.ReadyCondition)
				promoted := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.PromotedCondition)
				return ready != nil && ready.Reason == tc.reason && promoted != nil && strings.Contains(promoted.Message, tc.message),
					fmt.Sprintf("Ready %+v, Promoted %+v", ready, promoted)
			})
		})
	}
}

// An HTTPRoute deleted by hand mid-release is recreated with the weights
// of the release (90/10), not 100/0.
func TestADeletedRoutingObjectComesBackWithTheCurrentWeights(t *testing.T) {
	t.Parallel()
	s := newHeldRelease(t)
	var mu sync.Mutex
	var events []string
	framework.Get().Watch(t, &gatewayv1.HTTPRouteList{}, func(_ context.Context, ev watch.Event) {
		route, ok := ev.Object.(*gatewayv1.HTTPRoute)
		if !ok || len(route.Spec.Rules) == 0 || len(route.Spec.Rules[0].BackendRefs) != 2 {
			return
		}
		refs := route.Spec.Rules[0].BackendRefs
		mu.Lock()
		events = append(events, fmt.Sprintf("%s %d/%d", ev.Type, *refs[0].Weight, *refs[1].Weight))
		mu.Unlock()
	}, client.InNamespace(s.ns))
	s.delete(&gatewayv1.HTTPRoute{}, "podinfo")
	framework.Eventually(t, 30*time.Second, "the HTTPRoute to be recreated", func(context.Context) (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		for i, e := range events {
			if strings.HasPrefix(e, "DELETED") && i+1 < len(events) {
				return true, ""
			}
		}
		return false, strings.Join(events, ", ")
	})
	mu.Lock()
	defer mu.Unlock()
	for i, e := range events {
		if strings.HasPrefix(e, "DELETED") {
			if next := events[i+1]; next != "ADDED 90/10" {
				t.Errorf("after the deletion the route came back as %q, want ADDED 90/10 (events %v)", next, events)
			}
		}
	}
}
