package workload

import (
	"bytes"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// FieldWriter is a field manager that set a field, as the object's
// managedFields record it.
type FieldWriter struct {
	// Manager is the field manager, e.g. kustomize-controller.
	Manager string
	// Operation is Apply (server-side apply) or Update.
	Operation string
	// Time is when the manager last changed the object.
	Time time.Time
}

var replicasPath = fieldpath.MakePathOrDie("spec", "replicas")

// ReplicasWriter returns the latest field manager other than self that
// owns the Deployment's spec.replicas, or nil when there is none: nobody
// set it (the default applies) or self did.
func ReplicasWriter(d *appsv1.Deployment, self string) *FieldWriter {
	return LatestWriter(d.ManagedFields, replicasPath, self)
}

// LatestWriter returns the field manager other than self that owns the
// field at path and changed the object last, or nil when none does.
func LatestWriter(entries []metav1.ManagedFieldsEntry, path fieldpath.Path, self string) *FieldWriter {
	var latest *FieldWriter
	for _, e := range entries {
		if e.Manager == self || e.FieldsV1 == nil || e.Time == nil {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err != nil || !set.Has(path) {
			continue
		}
		if latest == nil || e.Time.After(latest.Time) {
			latest = &FieldWriter{Manager: e.Manager, Operation: string(e.Operation), Time: e.Time.Time}
		}
	}
	return latest
}

// replicasOnly is the field set of a managedFields entry cut down by
// KeepReplicasWriters.
var replicasOnly = []byte(`{"f:spec":{"f:replicas":{}}}`)

// KeepReplicasWriters cuts d's managedFields to what ReplicasWriter reads:
// the entries of managers other than self that own spec.replicas, each
// reduced to that one field. A Deployment applied by kubectl or Flux
// carries kilobytes of managedFields; the informer cache keeps this much.
func KeepReplicasWriters(d *appsv1.Deployment, self string) {
	var kept []metav1.ManagedFieldsEntry
	for _, e := range d.ManagedFields {
		if e.Manager == self || e.FieldsV1 == nil {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err != nil || !set.Has(replicasPath) {
			continue
		}
		e.FieldsV1 = &metav1.FieldsV1{Raw: replicasOnly}
		kept = append(kept, e)
	}
	d.ManagedFields = kept
}
