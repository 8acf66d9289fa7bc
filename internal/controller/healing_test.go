package controller

import (
	"time"

	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// replicaSetOf is the ReplicaSet the Deployment controller made for d's
// template: owned by d, with the pod-template-hash label.
func replicaSetOf(d *appsv1.Deployment, name string) *appsv1.ReplicaSet {
	tmpl := d.Spec.Template.DeepCopy()
	tmpl.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = name
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: d.Name + "-" + name, Namespace: d.Namespace, Labels: tmpl.Labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: ptrTo(true)}}},
		Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: *tmpl},
	}
}

// A primary deleted by hand comes back on the next reconcile with the last
// promoted revision and its replicas, whatever the phase; never with the
// target's unanalysed revision.
func TestADeletedPrimaryIsRecreatedWithTheLastPromotedRevision(t *testing.T) {
	cases := map[string]struct {
		fixture release
		// history are ReplicaSets of the target: (image, name).
		history [][2]string
		// targetImage replaces the target's image (default podinfo:2).
		targetImage string
		wantImage   string
		wantProblem string
	}{
		"during an analysis the promoted revision is in the target's history": {
			fixture: newRelease(atWeight(20)), history: [][2]string{{"podinfo:1", "aaa"}, {"podinfo:2", "bbb"}}, wantImage: "podinfo:1",
		},
		"after a failed release the promoted revision is in the target's history": {
			fixture: newRelease(inPhase(flaggerv1.CanaryPhaseFailed), atWeight(0)), history: [][2]string{{"podinfo:1", "aaa"}, {"podinfo:2", "bbb"}}, wantImage: "podinfo:1",
		},
		"after a promotion the target runs the promoted revision": {
			fixture:     newRelease(inPhase(flaggerv1.CanaryPhaseSucceeded), atWeight(0)),
			targetImage: "podinfo:1", wantImage: "podinfo:1",
		},
		"without the promoted revision anywhere nothing is guessed": {
			fixture: newRelease(atWeight(20)), history: [][2]string{{"podinfo:2", "bbb"}}, wantProblem: "PrimaryNotRestorable",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := tc.fixture
			if tc.targetImage != "" {
				f.target.Spec.Template.Spec.Containers[0].Image = tc.targetImage
			}
			f.canary.Status.PrimaryReplicas = ptrTo(int32(7))
			objs := []client.Object{f.canary, f.target}
			for _, h := range tc.history {
				d := f.target.DeepCopy()
				d.Spec.Template.Spec.Containers[0].Image = h[0]
				objs = append(objs, replicaSetOf(d, h[1]))
			}
			e := newEnv(t, withObjects(objs...))
			e.routed(80, 20)
			if _, err := e.reconcile(); err != nil && tc.wantProblem == "" {
				t.Fatal(err)
			}
			if tc.wantProblem != "" {
				cond := meta.FindStatusCondition(e.canary().Status.Conditions, flaggerv1.ReadyCondition)
				if cond == nil || cond.Reason != tc.wantProblem {
					t.Errorf("Ready %+v, want reason %s", cond, tc.wantProblem)
				}
				if i := e.j.index("create deployment podinfo-primary"); i >= 0 {
					t.Errorf("a primary was created: %s", e.j.all()[i])
				}
				return
			}
			primary := e.deployment("podinfo-primary")
			if img := primary.Spec.Template.Spec.Containers[0].Image; img != tc.wantImage || *primary.Spec.Replicas != 7 {
				t.Errorf("primary recreated with %s and %d replicas, want %s and 7", img, *primary.Spec.Replicas, tc.wantImage)
			}
			if primary.Spec.Template.Labels["app"] != "podinfo-primary" || primary.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != "" {
				t.Errorf("primary template labels %v", primary.Spec.Template.Labels)
			}
			if e.j.index("event Warning PrimaryRestored") < 0 {
				t.Errorf("no PrimaryRestored warning:\n%s", strings.Join(e.j.all(), "\n"))
			}
		})
	}
}

// A release that loses its target or a config it uses is rolled back: the
// failure is written, all traffic goes to the primary, and the canary's
// conditions name what disappeared.
func TestAReleaseThatLosesItsTargetOrAConfigIsRolledBack(t *testing.T) {
	cases := map[string]struct {
		drop        func(f *release) []client.Object
		wantReason  string
		wantMessage string
	}{
		"the target is deleted": {
			drop:       func(f *release) []client.Object { return []client.Object{f.canary, f.primary} },
			wantReason: "TargetNotFound", wantMessage: "target Deployment podinfo was deleted",
		},
		"a ConfigMap it uses is deleted": {
			drop: func(f *release) []client.Object {
				f.target.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{
					ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "podinfo-config"}}}}}
				return f.objects()
			},
			wantReason: "ConfigNotFound", wantMessage: "ConfigMap podinfo-config used by podinfo was deleted",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newRelease(atWeight(30))
			e := newEnv(t, withObjects(tc.drop(&f)...))
			e.routed(70, 30)
			if _, err := e.reconcile(); err != nil {
				t.Fatal(err)
			}
			e.j.assertOrder(t, "status Failed weight 0", "fake: routes 100/0", "event Warning RollingBack Rolling back podinfo.test "+tc.wantMessage)
			c := e.canary()
			ready := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.ReadyCondition)
			promoted := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.PromotedCondition)
			if ready == nil || ready.Reason != tc.wantReason || promoted == nil || !strings.Contains(promoted.Message, tc.wantMessage) {
				t.Errorf("Ready %+v and Promoted %+v; want %s and a message naming %q", ready, promoted, tc.wantReason, tc.wantMessage)
			}
			if c.Status.Phase != flaggerv1.CanaryPhaseFailed {
				t.Errorf("phase %s, want Failed", c.Status.Phase)
			}
			if _, err := e.reconcile(); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(strings.Join(e.j.all(), "\n"), "RollingBack"); n != 1 {
				t.Errorf("the rollback was announced %d times, want once", n)
			}
		})
	}
}

// An idle canary whose target is gone is only reported: nothing is routed
// to a canary that is not under analysis.
func TestAnIdleCanaryWithoutTargetIsOnlyReported(t *testing.T) {
	f := newRelease(inPhase(flaggerv1.CanaryPhaseSucceeded), atWeight(0))
	e := newEnv(t, withObjects(f.canary, f.primary))
	res, err := e.reconcile()
	if err != nil || res.RequeueAfter == 0 {
		t.Fatalf("result %+v, error %v; want a retry after an interval without error", res, err)
	}
	if c := e.canary(); c.Status.Phase != flaggerv1.CanaryPhaseSucceeded {
		t.Errorf("phase %s, want Succeeded", c.Status.Phase)
	}
	if e.j.index("event Warning TargetNotFound") < 0 {
		t.Errorf("no TargetNotFound warning:\n%s", strings.Join(e.j.all(), "\n"))
	}
}

// The progress deadline runs on the reconciler's clock from the first
// time the canary is seen not ready in this analysis: a canary not ready
// for progressDeadlineSeconds is rolled back, one that recovers before is
// not.
func TestACanaryNotReadyForItsProgressDeadlineIsRolledBack(t *testing.T) {
	cases := map[string]struct {
		after     time.Duration
		wantPhase flaggerv1.CanaryPhase
	}{
		"not ready for 599 s holds":   {599 * time.Second, flaggerv1.CanaryPhaseProgressing},
		"not ready for 600 s fails":   {600 * time.Second, flaggerv1.CanaryPhaseFailed},
		"not ready for an hour fails": {time.Hour, flaggerv1.CanaryPhaseFailed},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newRelease(atWeight(20))
			notAvailable(f.target)
			e := newEnv(t, withObjects(f.objects()...))
			e.routed(80, 20)
			if _, err := e.reconcile(); err != nil {
				t.Fatal(err)
			}
			if since := e.canary().Status.CanaryNotReadySince; since == nil || !since.Time.Equal(t0) {
				t.Fatalf("canaryNotReadySince %v, want %s", since, t0)
			}
			e.clock.Step(tc.after)
			if _, err := e.reconcile(); err != nil {
				t.Fatal(err)
			}
			if c := e.canary(); c.Status.Phase != tc.wantPhase {
				t.Errorf("phase %s after %s not ready, want %s", c.Status.Phase, tc.after, tc.wantPhase)
			}
		})
	}
}
