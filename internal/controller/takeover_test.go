package controller

import (
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/takeover"
	"github.com/serin-dev/serin/internal/workload"
)

// leftByFlagger gives the canary what Flagger leaves: its finalizer, its
// own revision hashes, and none of the fields only Serin writes.
func leftByFlagger(c *flaggerv1.Canary) {
	c.Finalizers = []string{flaggerFinalizer}
	c.Status.Provider, c.Status.PrimaryReplicas, c.Status.LastAnalysis = "", nil, nil
	c.Status.LastAppliedSpec, c.Status.LastPromotedSpec = "5f7b8d9c4", "6c8d5b4f7"
}

// withFlaggerID is a primary Flagger promoted: its pods carry flagger-id.
func withFlaggerID(d *appsv1.Deployment) {
	d.Spec.Template.Annotations = map[string]string{workload.FlaggerIDAnnotation: "6b1ea4b6-1d3c-4c5a-9c4e-2f0d3e2a7b51"}
}

// The reconciler adopts a canary Flagger left once, before anything acts
// on it: no webhook (event webhooks included) for a promoted or failed
// one, no second finalizer, no change to the primary's pod template, and a
// release in progress goes on from its weight without its pre-rollout
// hooks.
func TestACanaryFlaggerLeftIsAdoptedOnce(t *testing.T) {
	cases := map[string]struct {
		phase  flaggerv1.CanaryPhase
		weight int
		// promoted: the primary runs the target's template (podinfo:2).
		promoted bool
		// primaryRolling: the primary is still rolling out.
		primaryRolling bool
		wantReason     takeover.Action
		// wantPhase and wantWeight are the status after two reconciles, an
		// interval apart.
		wantPhase  flaggerv1.CanaryPhase
		wantWeight int
		// wantHooks are the webhook types called, in order.
		wantHooks []string
	}{
		"a promoted canary": {phase: flaggerv1.CanaryPhaseSucceeded, promoted: true,
			wantReason: takeover.AdoptPromoted, wantPhase: flaggerv1.CanaryPhaseSucceeded},
		"a failed canary": {phase: flaggerv1.CanaryPhaseFailed,
			wantReason: takeover.AdoptFailed, wantPhase: flaggerv1.CanaryPhaseFailed},
		// Flagger's last step (the fixture's transition) is more than an
		// interval old: the first reconcile steps to 30, the second to 40.
		"a canary at weight 20": {phase: flaggerv1.CanaryPhaseProgressing, weight: 20,
			wantReason: takeover.Continue, wantPhase: flaggerv1.CanaryPhaseProgressing, wantWeight: 40, wantHooks: []string{"rollout", "rollout"}},
		"a canary whose promotion waits for the primary": {phase: flaggerv1.CanaryPhasePromoting, weight: 50, promoted: true, primaryRolling: true,
			wantReason: takeover.Continue, wantPhase: flaggerv1.CanaryPhasePromoting, wantWeight: 50},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newRelease(inPhase(tc.phase), atWeight(tc.weight), leftByFlagger,
				withWebhooks(flaggerv1.ConfirmRolloutHook, flaggerv1.PreRolloutHook, flaggerv1.RolloutHook, flaggerv1.PostRolloutHook, flaggerv1.EventHook))
			withFlaggerID(f.primary)
			if tc.promoted {
				f.primary.Spec.Template.Spec.Containers[0].Image = "podinfo:2"
			}
			if tc.primaryRolling {
				notAvailable(f.primary)
			}
			if tc.weight == 0 {
				zero := int32(0)
				f.target.Spec.Replicas = &zero
			}
			e := newEnv(t, withObjects(f.objects()...))
			e.routed(100-tc.weight, tc.weight)
			before := f.primary.Spec.Template.DeepCopy()

			for range 2 {
				if _, err := e.reconcile(); err != nil {
					t.Fatal(err)
				}
				e.clock.Step(10 * time.Second)
			}
			c := e.canary()
			cond := meta.FindStatusCondition(c.Status.Conditions, takeover.Condition)
			if cond == nil || cond.Reason != string(tc.wantReason) {
				t.Errorf("condition %+v, want %s with reason %s", cond, takeover.Condition, tc.wantReason)
			}
			if c.Status.Phase != tc.wantPhase || c.Status.CanaryWeight != tc.wantWeight {
				t.Errorf("phase %s weight %d, want %s %d", c.Status.Phase, c.Status.CanaryWeight, tc.wantPhase, tc.wantWeight)
			}
			var hooks []string
			events := 0
			for _, entry := range e.j.all() {
				if typ, ok := strings.CutPrefix(entry, "hook "); ok {
					hooks = append(hooks, strings.Fields(typ)[0])
				}
				if strings.HasPrefix(entry, "event Normal "+takeover.Condition+" ") {
					events++
				}
				if strings.HasPrefix(entry, "notify Adopted") {
					t.Errorf("the takeover was sent to the event webhooks: %s", entry)
				}
			}
			if !slices.Equal(hooks, tc.wantHooks) || events != 1 {
				t.Errorf("webhooks %v and %d takeover events, want %v and 1:\n%s", hooks, events, tc.wantHooks, strings.Join(e.j.all(), "\n"))
			}
			if !slices.Equal(c.Finalizers, []string{flaggerFinalizer}) {
				t.Errorf("finalizers %v, want Flagger's alone", c.Finalizers)
			}
			if got := e.deployment("podinfo-primary").Spec.Template; !equality.Semantic.DeepEqual(got, *before) {
				t.Errorf("the primary's pod template changed to %+v: its pods would roll", got)
			}
		})
	}
}
