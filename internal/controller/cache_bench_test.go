package controller

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// BenchmarkCachedObjectHeap measures the heap an informer cache holds per
// object, as the API server sends it and after the cache transforms of
// CacheOptions: a Deployment applied server-side by a GitOps tool (its
// managedFields name every field it set, and the controller manager's
// status), and the metadata of a Secret applied by kubectl (its
// last-applied-configuration annotation carries the data).
//
//	go test ./internal/controller/ -run '^$' -bench BenchmarkCachedObjectHeap
func BenchmarkCachedObjectHeap(b *testing.B) {
	kinds := map[string]struct {
		served    []byte
		decode    func([]byte) any
		transform func(any) (any, error)
	}{
		"Deployment": {served: servedDeployment(b), transform: keepReplicasWriters, decode: func(data []byte) any {
			d := &appsv1.Deployment{}
			mustUnmarshal(b, data, d)
			return d
		}},
		"SecretMetadata": {served: servedSecretMetadata(b), transform: slimObject, decode: func(data []byte) any {
			m := &metav1.PartialObjectMetadata{}
			mustUnmarshal(b, data, m)
			return m
		}},
	}
	for kind, k := range kinds {
		for _, variant := range []string{"served", "transformed"} {
			b.Run(kind+"/"+variant, func(b *testing.B) {
				const n = 2000
				for range b.N {
					held := make([]any, 0, n)
					before := heapInUse()
					for range n {
						o := k.decode(k.served)
						if variant == "transformed" {
							o, _ = k.transform(o)
						}
						held = append(held, o)
					}
					after := heapInUse()
					b.ReportMetric(float64(after-before)/n, "heap-bytes/object")
					runtime.KeepAlive(held)
				}
			})
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func mustUnmarshal(b *testing.B, data []byte, into any) {
	if err := json.Unmarshal(data, into); err != nil {
		b.Fatal(err)
	}
}

// servedDeployment is a podinfo Deployment as the API server returns it
// after a server-side apply by kustomize-controller and a status update by
// the controller manager.
func servedDeployment(b *testing.B) []byte {
	replicas := int32(2)
	labels := map[string]string{"app": "podinfo", "app.kubernetes.io/name": "podinfo", "app.kubernetes.io/part-of": "shop"}
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "prod", Labels: labels, UID: "8d6f7c1e-5b7a-4c59-9a55-3f0c2f8f4b11", ResourceVersion: "123456", Generation: 4},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "podinfo"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "9797"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "podinfo", Image: "ghcr.io/stefanprodan/podinfo:6.7.1",
					Command: []string{"./podinfo", "--port=9898", "--port-metrics=9797", "--level=info"},
					Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 9898, Protocol: "TCP"}, {Name: "http-metrics", ContainerPort: 9797, Protocol: "TCP"}},
					Env: []corev1.EnvVar{{Name: "PODINFO_UI_COLOR", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "podinfo-config"}, Key: "color"}}}},
				}}},
			},
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2, UpdatedReplicas: 2,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: "True", Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability."},
				{Type: appsv1.DeploymentProgressing, Status: "True", Reason: "NewReplicaSetAvailable", Message: `ReplicaSet "podinfo-7d9c8b6f5d" has successfully progressed.`}}},
	}
	now := metav1.NewTime(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	d.ManagedFields = []metav1.ManagedFieldsEntry{
		{Manager: "kustomize-controller", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "apps/v1", Time: &now, FieldsType: "FieldsV1",
			FieldsV1: fieldsOf(b, map[string]any{"metadata": d.ObjectMeta, "spec": d.Spec})},
		{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "apps/v1", Time: &now, FieldsType: "FieldsV1",
			Subresource: "status", FieldsV1: fieldsOf(b, map[string]any{"status": d.Status})},
	}
	data, err := json.Marshal(d)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// servedSecretMetadata is the metadata of a Secret applied with kubectl
// (client-side), as a metadata-only watch receives it.
func servedSecretMetadata(b *testing.B) []byte {
	secret := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "podinfo-secret", "namespace": "prod"},
		"data": map[string]any{"tls.crt": strings.Repeat("Q", 1600), "tls.key": strings.Repeat("Q", 1200)}}
	applied, err := json.Marshal(secret)
	if err != nil {
		b.Fatal(err)
	}
	now := metav1.NewTime(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	m := &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"},
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo-secret", Namespace: "prod", UID: "0b9f0a4e-6a43-4a47-8f0e-2f1d3c4b5a69", ResourceVersion: "123457",
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": string(applied)},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
				Time: &now, FieldsType: "FieldsV1", FieldsV1: fieldsOf(b, secret)}}},
	}
	m.SetGroupVersionKind(schema.GroupVersionKind{Group: "meta.k8s.io", Version: "v1", Kind: "PartialObjectMetadata"})
	data, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// fieldsOf is the managedFields set of every field in v.
func fieldsOf(b *testing.B, v any) *metav1.FieldsV1 {
	data, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	var u any
	mustUnmarshal(b, data, &u)
	raw, err := fieldpath.SetFromValue(value.NewValueInterface(u)).ToJSON()
	if err != nil {
		b.Fatal(err)
	}
	return &metav1.FieldsV1{Raw: raw}
}
