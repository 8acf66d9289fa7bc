package gitops_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/serin-dev/serin/internal/controller"
	"github.com/serin-dev/serin/internal/workload"
	"github.com/serin-dev/serin/test/demo"
	"github.com/serin-dev/serin/test/flux"
	"github.com/serin-dev/serin/test/framework"
)

// replicaChange is one change of a Deployment's spec.replicas seen by a
// watch, with the field manager that owns the field afterwards ("" when
// nobody does: the default applies).
type replicaChange struct {
	Replicas int32
	Writer   string
}

func (c replicaChange) String() string { return fmt.Sprintf("%d by %q", c.Replicas, c.Writer) }

// replicaRecorder records every change of one Deployment's spec.replicas.
type replicaRecorder struct {
	mu      sync.Mutex
	changes []replicaChange
}

func recordReplicas(t *testing.T, st *demo.Stack, ns, name string) *replicaRecorder {
	r := &replicaRecorder{}
	env := &framework.Env{Cluster: st.Cluster, Scheme: st.Client.Scheme()}
	env.Watch(t, &appsv1.DeploymentList{}, func(_ context.Context, ev watch.Event) {
		d, ok := ev.Object.(*appsv1.Deployment)
		if !ok || d.Name != name || ev.Type == watch.Deleted {
			return
		}
		replicas := int32(1)
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		writer := ""
		if w := workload.ReplicasWriter(d, ""); w != nil {
			writer = w.Manager
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if n := len(r.changes); n == 0 || r.changes[n-1].Replicas != replicas {
			r.changes = append(r.changes, replicaChange{Replicas: replicas, Writer: writer})
		}
	}, client.InNamespace(ns))
	return r
}

// Changes returns the changes so far.
func (r *replicaRecorder) Changes() []replicaChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]replicaChange(nil), r.changes...)
}

// readyRecorder records every Ready status a Kustomization reported.
type readyRecorder struct {
	mu      sync.Mutex
	notTrue []string
	seen    int
}

func recordKustomizationReady(t *testing.T, st *demo.Stack, name string) *readyRecorder {
	r := &readyRecorder{}
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion("kustomize.toolkit.fluxcd.io/v1")
	list.SetKind("KustomizationList")
	env := &framework.Env{Cluster: st.Cluster, Scheme: st.Client.Scheme()}
	env.Watch(t, list, func(_ context.Context, ev watch.Event) {
		o, ok := ev.Object.(*unstructured.Unstructured)
		if !ok || o.GetName() != name {
			return
		}
		conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] != "Ready" {
				continue
			}
			r.seen++
			// Unknown with reason Progressing is Flux at work on a new
			// revision; False is a failed apply or health check.
			if m["status"] == "False" {
				r.notTrue = append(r.notTrue, fmt.Sprintf("%v: %v", m["reason"], m["message"]))
			}
		}
	}, client.InNamespace(flux.Namespace))
	return r
}

// Failures returns the not-Ready statuses seen, and how many Ready
// statuses were seen in all.
func (r *readyRecorder) Failures() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.notTrue...), r.seen
}

// resourceKey names an object in the audit log: resource/namespace/name.
func resourceKey(resource, ns, name string) string { return resource + "/" + ns + "/" + name }

// generatedObjects are the objects the operator created in ns, from the
// audit log: creates with the operator's field manager.
func generatedObjects(t *testing.T, st *demo.Stack, ns string) map[string]bool {
	t.Helper()
	writes, err := st.Cluster.Writes()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range writes {
		ref := e.ObjectRef
		if e.Verb == "create" && ref.Namespace == ns && ref.Subresource == "" && strings.Contains(e.RequestURI, "fieldManager="+controller.FieldManager) {
			out[resourceKey(ref.Resource, ref.Namespace, ref.Name)] = true
		}
	}
	return out
}

// fluxWrites returns Flux's writes (its own identity) to objects of ns,
// by object, in order, with the verb and the request URI.
func fluxWrites(t *testing.T, st *demo.Stack, ns string) map[string][]string {
	t.Helper()
	writes, err := st.Cluster.Writes()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, e := range writes {
		ref := e.ObjectRef
		if e.User.Username == flux.User && ref.Namespace == ns {
			key := resourceKey(ref.Resource, ref.Namespace, ref.Name)
			out[key] = append(out[key], e.Verb+" "+e.RequestURI+" at "+e.StageTimestamp.Format("15:04:05.000"))
		}
	}
	return out
}
