package workload

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func ptr[T any](v T) *T { return &v }

func podSpecUsingConfigs() corev1.PodSpec {
	return corev1.PodSpec{
		Volumes: []corev1.Volume{
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"}}}},
			{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "app-tls", Optional: ptr(true)}}},
			{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "projected-config"}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "projected-secret"}}},
			}}}},
		},
		InitContainers: []corev1.Container{{Name: "init", EnvFrom: []corev1.EnvFromSource{
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "init-env"}}},
		}}},
		Containers: []corev1.Container{{
			Name: "app",
			EnvFrom: []corev1.EnvFromSource{
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"}}},
			},
			Env: []corev1.EnvVar{
				{Name: "PLAIN", Value: "x"},
				{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "app-tls"}, Key: "token"}}},
			},
		}},
	}
}

func TestConfigRefsFindsEveryKindOfReference(t *testing.T) {
	spec := podSpecUsingConfigs()
	got := ConfigRefs(&spec)
	want := []ConfigRef{
		{Kind: ConfigMapKind, Name: "app-config"},
		{Kind: ConfigMapKind, Name: "projected-config"},
		// app-tls is optional in the volume but required by the env var.
		{Kind: SecretKind, Name: "app-tls"},
		{Kind: SecretKind, Name: "init-env"},
		{Kind: SecretKind, Name: "projected-secret"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ConfigRefs =\n%+v\nwant\n%+v", got, want)
	}
}

func TestRenameConfigRefsRenamesOnlyTrackedConfigs(t *testing.T) {
	spec := podSpecUsingConfigs()
	RenameConfigRefs(&spec, map[string]bool{"configmap/app-config": true, "secret/app-tls": true, "secret/projected-secret": true})
	checks := map[string]string{
		spec.Volumes[0].ConfigMap.Name:                        "app-config-primary",
		spec.Volumes[1].Secret.SecretName:                     "app-tls-primary",
		spec.Volumes[2].Projected.Sources[0].ConfigMap.Name:   "projected-config",
		spec.Volumes[2].Projected.Sources[1].Secret.Name:      "projected-secret-primary",
		spec.InitContainers[0].EnvFrom[0].SecretRef.Name:      "init-env",
		spec.Containers[0].EnvFrom[0].ConfigMapRef.Name:       "app-config-primary",
		spec.Containers[0].Env[1].ValueFrom.SecretKeyRef.Name: "app-tls-primary",
	}
	for got, want := range checks {
		if got != want {
			t.Errorf("reference %q, want %q", got, want)
		}
	}
}

func TestChecksumIgnoresOrderButNotContent(t *testing.T) {
	a := Checksum(map[string]string{"a": "1", "b": "2"}, nil)
	b := Checksum(map[string]string{"b": "2", "a": "1"}, nil)
	if a != b {
		t.Errorf("checksum depends on map order: %s != %s", a, b)
	}
	for name, other := range map[string]string{
		"changed value":        Checksum(map[string]string{"a": "1", "b": "3"}, nil),
		"moved key boundary":   Checksum(map[string]string{"a": "12", "b": ""}, nil),
		"string became binary": Checksum(map[string]string{"a": "1"}, map[string][]byte{"b": []byte("2")}),
	} {
		if other == a {
			t.Errorf("%s: checksum unchanged", name)
		}
	}
}
