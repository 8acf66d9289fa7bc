package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// Killing the operator after every status change of a release — the
// moment between deciding a step and carrying it out — and starting it
// again gives the outcome of an uninterrupted run: the same weights in the
// same order, the same final state, and each gate and hook called once.
func TestKillingTheOperatorAtEveryStepChangesNothing(t *testing.T) {
	cases := map[string]struct {
		traffic    framework.Traffic
		image      string
		final      flaggerv1.CanaryPhase
		weights    []int
		primary    string // image the primary ends on
		promotions int    // confirm-promotion calls
	}{
		"healthy release": {
			traffic: framework.Traffic{RPS: 20, SuccessRatio: 1, Latency: 20 * time.Millisecond},
			image:   "stefanprodan/podinfo:3.1.1", final: flaggerv1.CanaryPhaseSucceeded,
			weights: []int{0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 0}, primary: "stefanprodan/podinfo:3.1.1", promotions: 1,
		},
		"failing release": {
			traffic: framework.Traffic{RPS: 20, SuccessRatio: 0.6, Latency: 20 * time.Millisecond},
			image:   "stefanprodan/podinfo:3.0.2", final: flaggerv1.CanaryPhaseFailed,
			weights: []int{0}, primary: "stefanprodan/podinfo:3.1.0", promotions: 0,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hooks := newHookCounter(t)
			r := newRelease(t, nil, hooks.register)
			r.serve(tc.traffic)
			changes := watchSteps(t, r.ns)
			r.deploy(tc.image)
			restarts := 0
			deadline := time.After(180 * time.Second)
			for done := false; !done; {
				select {
				case phase := <-changes:
					if phase == tc.final {
						done = true
						break
					}
					r.restart()
					restarts++
				case <-deadline:
					t.Fatalf("no %s after %d restarts", tc.final, restarts)
				}
			}
			r.assertSettled(tc.primary)
			if got := r.weights.sequence(); !slices.Equal(got, tc.weights) {
				t.Errorf("weights %v, want %v", got, tc.weights)
			}
			c := getCanary(t, r.ns)
			// A kill can land between a step's status write and its log line,
			// so a message may be lost, never repeated: at most once each.
			halts := r.messages("Halt podinfo." + r.ns + " advancement success rate 60.00% < 99%")
			if tc.final == flaggerv1.CanaryPhaseFailed && (c.Status.FailedChecks != 5 || halts > 5) {
				t.Errorf("failedChecks %d and %d halt messages, want 5 and at most 5", c.Status.FailedChecks, halts)
			}
			// A gate whose passing is recorded is never called again. Other
			// hooks are delivered at least once: a kill between a hook call and
			// the status write repeats the step, as in any controller; their
			// payload's checksum lets receivers tell repeats apart.
			// The post-rollout webhooks are called once the routes are back on
			// the primary, and recorded as called in the status.
			framework.Eventually(t, 30*time.Second, "the post-rollout webhooks to be called", func(context.Context) (bool, string) {
				c := getCanary(t, r.ns)
				return c.Status.PendingPostRollout == "", "status.pendingPostRollout " + c.Status.PendingPostRollout
			})
			got := hooks.counts()
			if got["confirm-promotion"] != tc.promotions || got["pre-rollout"] < 1 || got["post-rollout"] < 1 {
				t.Errorf("webhook calls %v, want confirm-promotion %d and pre-/post-rollout at least once", got, tc.promotions)
			}
			if restarts < 4 {
				t.Errorf("only %d restarts: the test did not exercise the steps", restarts)
			}
			t.Logf("%d operator restarts", restarts)
			r.assertNoErrors()
		})
	}
}

// watchSteps sends the canary's phase each time its phase, weight or
// failed checks change.
func watchSteps(t *testing.T, ns string) <-chan flaggerv1.CanaryPhase {
	t.Helper()
	out := make(chan flaggerv1.CanaryPhase, 64)
	last := ""
	framework.Get().Watch(t, &flaggerv1.CanaryList{}, func(_ context.Context, ev watch.Event) {
		c, ok := ev.Object.(*flaggerv1.Canary)
		if !ok {
			return
		}
		key := fmt.Sprintf("%s/%d/%d", c.Status.Phase, c.Status.CanaryWeight, c.Status.FailedChecks)
		if key != last && c.Status.Phase != flaggerv1.CanaryPhaseInitialized && c.Status.Phase != "" {
			last = key
			out <- c.Status.Phase
		}
	}, client.InNamespace(ns))
	return out
}

// hookCounter counts the calls of a canary's webhooks by type.
type hookCounter struct{ *framework.HookReceiver }

func newHookCounter(t *testing.T) *hookCounter {
	return &hookCounter{framework.NewHookReceiver(t)}
}

// register adds the counter's pre-rollout, confirm-promotion and
// post-rollout webhooks to a canary manifest.
func (h *hookCounter) register(o map[string]any) {
	var hooks []any
	for _, typ := range []string{"pre-rollout", "confirm-promotion", "post-rollout"} {
		hooks = append(hooks, map[string]any{"name": typ, "type": typ, "url": h.URL(typ)})
	}
	_ = unstructured.SetNestedSlice(o, hooks, "spec", "analysis", "webhooks")
}

func (h *hookCounter) counts() map[string]int { return h.Calls() }
