package flux

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Namespace holds the Flux objects, as in a Flux installation.
const Namespace = "flux-system"

var (
	gitRepositoryKind = schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"}
	kustomizationKind = schema.GroupVersionKind{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"}
)

// requestedAt is the annotation with which `flux reconcile` (and the
// seed's `fluxctl sync`) asks for a reconcile now.
const requestedAt = "reconcile.fluxcd.io/requestedAt"

// Sync is a GitRepository and a Kustomization of the same name that apply
// one path of a repository.
type Sync struct {
	Name string
	Repo *Repo
	// Path is the directory of the repository to apply, e.g. ./podinfo.
	Path string
	// Interval is how often Flux fetches and applies (and corrects drift).
	Interval time.Duration
	// Ignore lists JSON pointers (e.g. /spec/replicas) kustomize-controller
	// neither applies nor corrects on existing objects (spec.ignore).
	Ignore []string
}

// Create creates the Flux namespace (if needed) and the sync's objects:
// the Kustomization once the GitRepository has an artifact, so that it
// never reports a missing source.
func (s Sync) Create(ctx context.Context, cl client.Client) error {
	ns := &corev1.Namespace{}
	ns.Name = Namespace
	if err := cl.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	repo := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"interval": s.Interval.String(), "url": s.Repo.URL, "ref": map[string]any{"branch": s.Repo.Branch},
	}}}
	ks := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"interval": s.Interval.String(), "path": s.Path, "prune": true, "timeout": "1m",
		"sourceRef": map[string]any{"kind": gitRepositoryKind.Kind, "name": s.Name},
	}}}
	if len(s.Ignore) > 0 {
		ks.Object["spec"].(map[string]any)["ignore"] = []any{map[string]any{"paths": toAny(s.Ignore)}}
	}
	for _, o := range []struct {
		obj *unstructured.Unstructured
		gvk schema.GroupVersionKind
	}{{repo, gitRepositoryKind}, {ks, kustomizationKind}} {
		o.obj.SetGroupVersionKind(o.gvk)
		o.obj.SetNamespace(Namespace)
		o.obj.SetName(s.Name)
		if err := cl.Create(ctx, o.obj); err != nil {
			return fmt.Errorf("create %s %s: %w", o.gvk.Kind, s.Name, err)
		}
		if o.gvk == gitRepositoryKind {
			if err := waitArtifact(ctx, cl, s.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitArtifact waits until the GitRepository name has an artifact.
func waitArtifact(ctx context.Context, cl client.Client, name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	repo := &unstructured.Unstructured{}
	repo.SetGroupVersionKind(gitRepositoryKind)
	for {
		if err := cl.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: name}, repo); err == nil {
			if rev, _, _ := unstructured.NestedString(repo.Object, "status", "artifact", "revision"); rev != "" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("GitRepository %s has no artifact: %v", name, repo.Object["status"])
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Status is what a Kustomization reports.
type Status struct {
	// Ready is its Ready condition: status, reason, message.
	Ready, Reason, Message string
	// AppliedRevision is the last revision applied, e.g. main@sha1:<sha>.
	AppliedRevision string
	// HandledRequest is the last reconcile request handled.
	HandledRequest string
}

// Applied reports whether the Kustomization has applied commit sha.
func (st Status) Applied(sha string) bool {
	return st.Ready == "True" && strings.HasSuffix(st.AppliedRevision, ":"+sha)
}

// KustomizationStatus reads the sync's Kustomization.
func (s Sync) KustomizationStatus(ctx context.Context, cl client.Client) (Status, error) {
	ks := &unstructured.Unstructured{}
	ks.SetGroupVersionKind(kustomizationKind)
	if err := cl.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: s.Name}, ks); err != nil {
		return Status{}, err
	}
	var st Status
	st.AppliedRevision, _, _ = unstructured.NestedString(ks.Object, "status", "lastAppliedRevision")
	st.HandledRequest, _, _ = unstructured.NestedString(ks.Object, "status", "lastHandledReconcileAt")
	conds, _, _ := unstructured.NestedSlice(ks.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			st.Ready, _ = m["status"].(string)
			st.Reason, _ = m["reason"].(string)
			st.Message, _ = m["message"].(string)
		}
	}
	return st, nil
}

// Reconcile asks source-controller to fetch now and kustomize-controller
// to apply now (what `flux reconcile kustomization --with-source` and the
// seed's `fluxctl sync` do), and waits until the Kustomization has handled
// the request with sha (any revision when empty) applied.
func (s Sync) Reconcile(ctx context.Context, cl client.Client, sha string, timeout time.Duration) (Status, error) {
	at := time.Now().Format(time.RFC3339Nano)
	for _, gvk := range []schema.GroupVersionKind{gitRepositoryKind, kustomizationKind} {
		o := &unstructured.Unstructured{}
		o.SetGroupVersionKind(gvk)
		o.SetNamespace(Namespace)
		o.SetName(s.Name)
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, requestedAt, at)
		if err := cl.Patch(ctx, o, client.RawPatch("application/merge-patch+json", patch)); err != nil {
			return Status{}, fmt.Errorf("request a reconcile of %s %s: %w", gvk.Kind, s.Name, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var st Status
	for {
		var err error
		st, err = s.KustomizationStatus(ctx, cl)
		if err == nil && st.HandledRequest == at && (sha == "" || st.Applied(sha)) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("Kustomization %s did not apply %s: ready %s (%s) %s, applied %s", s.Name, sha, st.Ready, st.Reason, st.Message, st.AppliedRevision)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
