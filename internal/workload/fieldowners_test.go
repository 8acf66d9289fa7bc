package workload

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReplicasWriterIsTheLatestOtherOwnerOfSpecReplicas(t *testing.T) {
	at := func(min int) *metav1.Time {
		tm := metav1.NewTime(time.Date(2026, 11, 25, 18, min, 0, 0, time.UTC))
		return &tm
	}
	fields := func(raw string) *metav1.FieldsV1 { return &metav1.FieldsV1{Raw: []byte(raw)} }
	replicas := `{"f:spec":{"f:replicas":{},"f:template":{}}}`
	image := `{"f:spec":{"f:template":{"f:spec":{}}}}`
	cases := map[string]struct {
		entries []metav1.ManagedFieldsEntry
		want    string // the manager, "" for none
	}{
		"nobody owns the replicas": {entries: []metav1.ManagedFieldsEntry{
			{Manager: "kustomize-controller", Operation: "Apply", Time: at(1), FieldsV1: fields(image)}}},
		"the operator's own write does not count": {entries: []metav1.ManagedFieldsEntry{
			{Manager: "kustomize-controller", Operation: "Apply", Time: at(1), FieldsV1: fields(image)},
			{Manager: "serin", Operation: "Update", Time: at(2), FieldsV1: fields(`{"f:spec":{"f:replicas":{}}}`)}}},
		"the applier that owns them": {want: "kustomize-controller", entries: []metav1.ManagedFieldsEntry{
			{Manager: "kustomize-controller", Operation: "Apply", Time: at(1), FieldsV1: fields(replicas)}}},
		"the latest of two owners": {want: "argocd-controller", entries: []metav1.ManagedFieldsEntry{
			{Manager: "kubectl", Operation: "Update", Time: at(1), FieldsV1: fields(replicas)},
			{Manager: "argocd-controller", Operation: "Apply", Time: at(3), FieldsV1: fields(replicas)}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := newTarget(nil, map[string]string{"app": "podinfo"})
			d.ManagedFields = tc.entries
			got := ReplicasWriter(d, "serin")
			if (got == nil) != (tc.want == "") || (got != nil && got.Manager != tc.want) {
				t.Errorf("ReplicasWriter = %+v, want %q", got, tc.want)
			}
			// The informer cache keeps only what ReplicasWriter reads, and
			// it gives the same answer from that.
			KeepReplicasWriters(d, "serin")
			trimmed := ReplicasWriter(d, "serin")
			if (trimmed == nil) != (got == nil) || (got != nil && *trimmed != *got) {
				t.Errorf("after KeepReplicasWriters, ReplicasWriter = %+v, want %+v", trimmed, got)
			}
			for _, e := range d.ManagedFields {
				if e.Manager == "serin" || string(e.FieldsV1.Raw) != `{"f:spec":{"f:replicas":{}}}` {
					t.Errorf("KeepReplicasWriters kept %s's %s", e.Manager, e.FieldsV1.Raw)
				}
			}
		})
	}
}
