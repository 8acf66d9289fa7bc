package controller

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/workload"
)

// replicasSetBy makes manager the owner of the Deployment's spec.replicas,
// written at time at, as a GitOps tool's apply records it.
func replicasSetBy(manager string, at time.Time) deploymentOpt {
	return func(d *appsv1.Deployment) {
		d.ManagedFields = []metav1.ManagedFieldsEntry{{
			Manager: manager, APIVersion: "apps/v1", Operation: metav1.ManagedFieldsOperationApply, Time: &metav1.Time{Time: at},
			FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:replicas":{}}}`)},
		}}
	}
}

// idleWithGitReplicas is a promoted canary whose target Flux scaled back
// up after the operator scaled it to zero at the transition.
func idleWithGitReplicas() release {
	f := newRelease(inPhase(flaggerv1.CanaryPhaseSucceeded), atWeight(0))
	f.target = newDeployment("podinfo", "podinfo", "podinfo:2", 2, replicasSetBy("kustomize-controller", t0.Add(-30*time.Second)))
	f.primary = newDeployment("podinfo-primary", "podinfo-primary", "podinfo:2", 2, ownedBy(f.canary))
	f.canary.Status.LastPromotedSpec = workload.TemplateHash(&f.target.Spec.Template)
	return f
}

// The ReplicasConflict warning goes out only once its condition is
// stored: a reconcile of a stale copy (its status write conflicts) sends
// nothing, so the retry that sees the condition does not send it twice.
func TestAReplicasConflictIsAnnouncedOnlyOnceStored(t *testing.T) {
	f := idleWithGitReplicas()
	conflicts := true
	e := newEnv(t, withObjects(f.objects()...), withInterceptor(interceptor.Funcs{
		Get: func(ctx context.Context, cl client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if err := cl.Get(ctx, key, obj, opts...); err != nil {
				return err
			}
			// The fake client drops the managedFields of its fixtures.
			if d, ok := obj.(*appsv1.Deployment); ok && d.Name == "podinfo" && *d.Spec.Replicas != 0 {
				d.ManagedFields = f.target.ManagedFields
			}
			return nil
		},
		SubResourceUpdate: func(context.Context, client.Client, string, client.Object, ...client.SubResourceUpdateOption) error {
			if conflicts {
				return apierrors.NewConflict(schema.GroupResource{Group: "flagger.app", Resource: "canaries"}, "podinfo", errors.New("stale"))
			}
			return nil
		},
	}))
	e.routed(100, 0)
	if _, err := e.reconcile(); err != nil {
		t.Fatal(err)
	}
	if i := e.j.index("event Warning ReplicasConflict"); i >= 0 {
		t.Fatalf("warned of a conflict whose condition was not stored:\n%s", strings.Join(e.j.all(), "\n"))
	}
	conflicts = false
	for range 3 {
		if _, err := e.reconcile(); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(strings.Join(e.j.all(), "\n"), "event Warning ReplicasConflict"); n != 1 {
		t.Errorf("%d ReplicasConflict warnings, want 1:\n%s", n, strings.Join(e.j.all(), "\n"))
	}
	cond := meta.FindStatusCondition(e.canary().Status.Conditions, ReplicasConflictCondition)
	if cond == nil || !strings.Contains(cond.Message, "kustomize-controller") {
		t.Errorf("condition %+v, want one naming kustomize-controller", cond)
	}
	if d := e.deployment("podinfo"); *d.Spec.Replicas != 2 {
		t.Errorf("target scaled to %d while Flux owns its replicas, want left at 2", *d.Spec.Replicas)
	}
}
