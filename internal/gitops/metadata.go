// Package gitops keeps GitOps tools and the operator from fighting over the
// objects the operator generates. Generated objects (services, the primary
// workload and its copies, routing objects) carry the markers with which
// Flagger keeps Flux's controllers off them, and copies of a user's objects
// never carry the metadata by which Flux, Argo CD or Helm recognise the
// objects they own: a copy that looked owned would be reverted, reported as
// out of sync, or pruned while it serves.
package gitops

import (
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The markers Flagger sets on generated objects, with the value that
// switches them on. Flux's kustomize-controller skips an object whose
// in-cluster copy has the first, and its helm-controller leaves an object
// with the second out of drift detection.
const (
	KustomizeReconcileKey = "kustomize.toolkit.fluxcd.io/reconcile"
	HelmDriftDetectionKey = "helm.toolkit.fluxcd.io/driftDetection"
	DisabledValue         = "disabled"
)

// Ownership metadata of the GitOps and packaging tools.
const (
	// fluxMarker is part of every key Flux writes (kustomize.toolkit.fluxcd.io/name,
	// helm.toolkit.fluxcd.io/namespace, …); Flagger drops keys containing it.
	fluxMarker = "toolkit.fluxcd.io"
	// argoPrefix starts Argo CD's keys: the tracking-id annotation of
	// annotation-based tracking, sync options, and the recommended custom
	// tracking label argocd.argoproj.io/instance.
	argoPrefix = "argocd.argoproj.io/"
	// helmPrefix starts Helm's release annotations (release-name,
	// release-namespace), by which Helm adopts and deletes objects.
	helmPrefix = "meta.helm.sh/"
	// InstanceLabel is Argo CD's default tracking label. Helm charts set the
	// same key to the release name, so it is dropped only when Argo CD
	// could have set it: see IsOwnershipKey.
	InstanceLabel = "app.kubernetes.io/instance"
	// managedByLabel says which tool manages an object; Helm sets "Helm".
	managedByLabel = "app.kubernetes.io/managed-by"
	// helmReleaseName is the annotation Helm sets to the release's name.
	helmReleaseName = helmPrefix + "release-name"
	// lastAppliedKey is client-side apply's record of the applied
	// manifest; kubectl and Argo CD diff against it.
	lastAppliedKey = "kubectl.kubernetes.io/last-applied-configuration"
)

// Mark sets the Flux markers on a generated object, keeping its other
// annotations. It is the one call a router makes for each object it
// creates or updates.
func Mark(obj client.Object) {
	obj.SetAnnotations(WithMarkers(obj.GetAnnotations()))
}

// WithMarkers returns annotations (not modified) plus the Flux markers.
func WithMarkers(annotations map[string]string) map[string]string {
	out := make(map[string]string, len(annotations)+2)
	for k, v := range annotations {
		out[k] = v
	}
	out[KustomizeReconcileKey] = DisabledValue
	out[HelmDriftDetectionKey] = DisabledValue
	return out
}

// IsOwnershipKey reports whether a label or annotation (key and value) of
// an object whose annotations are annotations marks that object as owned
// by a GitOps or packaging tool. The annotations are needed for Argo CD's
// tracking label, which Helm charts also set: app.kubernetes.io/instance is
// Helm's only when the object's meta.helm.sh/release-name annotation has
// the same value (Helm, or Flux's helm-controller, installed it; Argo CD
// renders charts with `helm template` and never writes that annotation).
// Otherwise it is taken for Argo CD's, whose label tracking prunes an
// object that is not in git and carries it.
func IsOwnershipKey(key, value string, annotations map[string]string) bool {
	switch {
	case strings.Contains(key, fluxMarker),
		strings.HasPrefix(key, argoPrefix),
		strings.HasPrefix(key, helmPrefix),
		key == lastAppliedKey:
		return true
	case key == managedByLabel:
		return value == "Helm"
	case key == InstanceLabel:
		return annotations[helmReleaseName] != value
	}
	return false
}

// CopyRule decides which labels and annotations of a user's object (the
// target Deployment, its autoscaler, ConfigMaps and Secrets) the generated
// copies carry.
type CopyRule struct {
	// LabelPrefixes are Flagger's -include-label-prefix entries: a label is
	// copied when its key starts with one of them; "*" copies every label.
	// Empty (Flagger's default) copies none.
	LabelPrefixes []string
}

// Labels returns the labels of src a copy carries: those matching a
// prefix, less ownership metadata.
func (r CopyRule) Labels(src client.Object) map[string]string {
	out := map[string]string{}
	for k, v := range src.GetLabels() {
		if r.included(k) && !IsOwnershipKey(k, v, src.GetAnnotations()) {
			out[k] = v
		}
	}
	return out
}

func (r CopyRule) included(key string) bool {
	for _, p := range r.LabelPrefixes {
		if p == "*" || strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// CopiedAnnotations returns the annotations of src a copy carries: all
// but ownership metadata and those named in skip (the source's own
// bookkeeping, such as deployment.kubernetes.io/revision).
func CopiedAnnotations(src client.Object, skip ...string) map[string]string {
	out := map[string]string{}
	for k, v := range src.GetAnnotations() {
		if !IsOwnershipKey(k, v, src.GetAnnotations()) && !slices.Contains(skip, k) {
			out[k] = v
		}
	}
	return out
}

// WithoutFluxKeys returns m without Flux's keys, for the pod template of
// a copy: its pods keep the labels other objects select them by (a
// chart's app.kubernetes.io/instance among them), as in Flagger.
func WithoutFluxKeys(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if !strings.Contains(k, fluxMarker) {
			out[k] = v
		}
	}
	return out
}
