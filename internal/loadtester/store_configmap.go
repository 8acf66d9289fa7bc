package loadtester

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// serviceAccountNamespaceFile is where Kubernetes mounts the pod's namespace.
const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// gateOpenValue marks an open gate in the ConfigMap; closed gates have no key.
const gateOpenValue = "open"

// ConfigMapStore keeps gate state in a ConfigMap, one data key per open gate
// ("gate.podinfo.test", "rollback.podinfo.test"), so it survives pod restarts and is shared by
// replicas. It reads the ConfigMap on every check rather than caching it: checks come once
// per analysis interval, and a stale "open" would promote a canary nobody approved.
type ConfigMapStore struct {
	client  client.Client
	key     types.NamespacedName
	maxOpen int
}

// NewConfigMapStore stores gates in the ConfigMap namespace/name, created on first use, with at
// most maxOpen gates open at once (a ConfigMap holds at most 1 MiB). The client needs get, create
// and update on that ConfigMap.
func NewConfigMapStore(c client.Client, namespace, name string, maxOpen int) *ConfigMapStore {
	return &ConfigMapStore{client: c, key: types.NamespacedName{Namespace: namespace, Name: name}, maxOpen: maxOpen}
}

// InClusterNamespace returns the namespace the service runs in — from POD_NAMESPACE (set with
// the downward API) or the service-account namespace file — and false outside a cluster.
func InClusterNamespace() (string, bool) {
	if ns := strings.TrimSpace(os.Getenv("POD_NAMESPACE")); ns != "" {
		return ns, true
	}
	data, err := os.ReadFile(serviceAccountNamespaceFile)
	if err != nil {
		return "", false
	}
	ns := strings.TrimSpace(string(data))
	return ns, ns != ""
}

func gateDataKey(kind GateKind, canary string) string { return string(kind) + "." + canary }

// IsOpen reports whether the gate is open; a missing ConfigMap means every gate is closed.
func (s *ConfigMapStore) IsOpen(ctx context.Context, kind GateKind, canary string) (bool, error) {
	var cm corev1.ConfigMap
	if err := s.client.Get(ctx, s.key, &cm); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("get configmap %s: %w", s.key, err)
	}
	return cm.Data[gateDataKey(kind, canary)] == gateOpenValue, nil
}

// SetOpen opens or closes a gate. Updates carry the resourceVersion read, and are retried on
// conflict, so two replicas changing different gates at once cannot lose either change.
func (s *ConfigMapStore) SetOpen(ctx context.Context, kind GateKind, canary string, open bool) error {
	retriable := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	err := retry.OnError(retry.DefaultRetry, retriable, func() error {
		return s.setOnce(ctx, gateDataKey(kind, canary), open)
	})
	if errors.Is(err, ErrTooManyGates) {
		return err
	}
	if err != nil {
		return fmt.Errorf("set %s in configmap %s: %w", gateDataKey(kind, canary), s.key, err)
	}
	return nil
}

func (s *ConfigMapStore) setOnce(ctx context.Context, dataKey string, open bool) error {
	var cm corev1.ConfigMap
	err := s.client.Get(ctx, s.key, &cm)
	switch {
	case apierrors.IsNotFound(err):
		if !open {
			return nil // closed is the default; nothing to record
		}
		cm = corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.key.Namespace, Name: s.key.Name,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "serin-loadtester"}},
			Data: map[string]string{dataKey: gateOpenValue},
		}
		return s.client.Create(ctx, &cm)
	case err != nil:
		return err
	}
	if (cm.Data[dataKey] == gateOpenValue) == open {
		return nil
	}
	if open && len(cm.Data) >= s.maxOpen {
		return fmt.Errorf("%w: %d are open", ErrTooManyGates, len(cm.Data))
	}
	if open {
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[dataKey] = gateOpenValue
	} else {
		delete(cm.Data, dataKey)
	}
	return s.client.Update(ctx, &cm)
}
