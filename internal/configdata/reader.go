// Package configdata reads the data of ConfigMaps and Secrets without
// holding every one of them in memory.
//
// The operator needs the contents of only a few of them: the configs a
// canary's target uses (to checksum and copy them) and the Secrets named by
// MetricTemplates. An informer cache of Secrets would keep every Secret of
// the cluster in the operator's memory, so the operator watches them
// metadata-only and reads contents from the API server, uncached, when it
// needs them. Reader remembers each object it read by UID and
// resourceVersion: as long as the watched metadata shows the same version,
// the remembered copy is used, so an idle canary makes no API request.
package configdata

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// maxRemembered bounds the objects remembered; past it the memo starts
// over. Each canary tracks a handful of configs, so this is reached only
// by thousands of canaries, and then costs one read per object again.
const maxRemembered = 4096

// Reader reads ConfigMaps and Secrets: their metadata from a cache of
// metadata-only informers, their contents from the API server when the
// metadata shows a version not read before.
type Reader struct {
	// Metadata reads metav1.PartialObjectMetadata, from the manager's
	// cache (mgr.GetCache()), whose informers for ConfigMaps and Secrets
	// are metadata-only.
	Metadata client.Reader
	// API reads objects from the API server (mgr.GetAPIReader()).
	API client.Reader

	mu   sync.Mutex
	memo map[memoKey]client.Object
	// reads counts API reads, for tests.
	reads int
}

type memoKey struct {
	kind string
	key  types.NamespacedName
}

var (
	secretGVK    = corev1.SchemeGroupVersion.WithKind("Secret")
	configMapGVK = corev1.SchemeGroupVersion.WithKind("ConfigMap")
)

// Secret returns the Secret key.
func (r *Reader) Secret(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	if err := r.get(ctx, secretGVK, key, s); err != nil {
		return nil, err
	}
	return s, nil
}

// ConfigMap returns the ConfigMap key.
func (r *Reader) ConfigMap(ctx context.Context, key types.NamespacedName) (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{}
	if err := r.get(ctx, configMapGVK, key, cm); err != nil {
		return nil, err
	}
	return cm, nil
}

// APIReads returns the number of objects read from the API server so far.
func (r *Reader) APIReads() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reads
}

// get fills obj with the object key of kind gvk. A NotFound error is
// returned as is, so callers can tell a missing object apart.
func (r *Reader) get(ctx context.Context, gvk schema.GroupVersionKind, key types.NamespacedName, obj client.Object) error {
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(gvk)
	mk := memoKey{kind: gvk.Kind, key: key}
	if err := r.Metadata.Get(ctx, key, meta); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(mk)
		}
		return err
	}
	if r.recall(mk, meta, obj) {
		return nil
	}
	if err := r.API.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(mk)
			return err
		}
		return fmt.Errorf("read %s %s: %w", gvk.Kind, key, err)
	}
	r.remember(mk, obj)
	return nil
}

// recall copies the remembered object into obj when it is the version the
// metadata shows.
func (r *Reader) recall(mk memoKey, meta *metav1.PartialObjectMetadata, obj client.Object) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	got, ok := r.memo[mk]
	if !ok || got.GetUID() != meta.UID || got.GetResourceVersion() != meta.ResourceVersion {
		return false
	}
	switch o := obj.(type) {
	case *corev1.Secret:
		got.(*corev1.Secret).DeepCopyInto(o)
	case *corev1.ConfigMap:
		got.(*corev1.ConfigMap).DeepCopyInto(o)
	}
	return true
}

func (r *Reader) remember(mk memoKey, obj client.Object) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	if r.memo == nil || len(r.memo) >= maxRemembered {
		r.memo = map[memoKey]client.Object{}
	}
	kept := obj.DeepCopyObject().(client.Object)
	// Managed fields are bookkeeping of the API server; nobody here reads
	// them, and they can be larger than the data.
	kept.SetManagedFields(nil)
	r.memo[mk] = kept
}

func (r *Reader) forget(mk memoKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.memo, mk)
}
