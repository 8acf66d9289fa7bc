package workload

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// TrackingAnnotation set to "disabled" on a ConfigMap or Secret keeps it out
// of tracking: it is neither copied nor checksummed.
const TrackingAnnotation = "flagger.app/config-tracking"

// ConfigKind is configmap or secret, as in status.trackedConfigs keys.
type ConfigKind string

// The kinds of tracked configuration.
const (
	ConfigMapKind ConfigKind = "configmap"
	SecretKind    ConfigKind = "secret"
)

// ConfigRef is a ConfigMap or Secret a pod template references.
type ConfigRef struct {
	Kind ConfigKind
	Name string
	// Optional references may be missing; the pod starts without them.
	Optional bool
}

// Key is the status.trackedConfigs key, e.g. "configmap/podinfo-config".
func (r ConfigRef) Key() string { return string(r.Kind) + "/" + r.Name }

// PrimaryName is the name of the copy the primary uses.
func PrimaryName(name string) string { return name + "-primary" }

// ConfigRefs lists the ConfigMaps and Secrets a pod spec references through
// volumes, projected volumes, env and envFrom, sorted and without repeats.
// A reference is optional only if every use of it is.
func ConfigRefs(spec *corev1.PodSpec) []ConfigRef {
	refs := map[ConfigRef]bool{}
	add := func(kind ConfigKind, name string, optional *bool) {
		if name == "" {
			return
		}
		ref := ConfigRef{Kind: kind, Name: name}
		opt := optional != nil && *optional
		if prev, seen := refs[ref]; seen {
			opt = prev && opt
		}
		refs[ref] = opt
	}
	for _, v := range spec.Volumes {
		if cm := v.ConfigMap; cm != nil {
			add(ConfigMapKind, cm.Name, cm.Optional)
		}
		if s := v.Secret; s != nil {
			add(SecretKind, s.SecretName, s.Optional)
		}
		if p := v.Projected; p != nil {
			for _, src := range p.Sources {
				if cm := src.ConfigMap; cm != nil {
					add(ConfigMapKind, cm.Name, cm.Optional)
				}
				if s := src.Secret; s != nil {
					add(SecretKind, s.Name, s.Optional)
				}
			}
		}
	}
	for _, c := range allContainers(spec) {
		for _, e := range c.EnvFrom {
			if cm := e.ConfigMapRef; cm != nil {
				add(ConfigMapKind, cm.Name, cm.Optional)
			}
			if s := e.SecretRef; s != nil {
				add(SecretKind, s.Name, s.Optional)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if cm := e.ValueFrom.ConfigMapKeyRef; cm != nil {
				add(ConfigMapKind, cm.Name, cm.Optional)
			}
			if s := e.ValueFrom.SecretKeyRef; s != nil {
				add(SecretKind, s.Name, s.Optional)
			}
		}
	}
	out := make([]ConfigRef, 0, len(refs))
	for ref, opt := range refs {
		ref.Optional = opt
		out = append(out, ref)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

func allContainers(spec *corev1.PodSpec) []*corev1.Container {
	var out []*corev1.Container
	for i := range spec.InitContainers {
		out = append(out, &spec.InitContainers[i])
	}
	for i := range spec.Containers {
		out = append(out, &spec.Containers[i])
	}
	return out
}

// RenameConfigRefs rewrites the pod spec's references to the tracked
// configs so the primary mounts their -primary copies.
func RenameConfigRefs(spec *corev1.PodSpec, tracked map[string]bool) {
	rename := func(kind ConfigKind, name *string) {
		if tracked[ConfigRef{Kind: kind, Name: *name}.Key()] {
			*name = PrimaryName(*name)
		}
	}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		if v.ConfigMap != nil {
			rename(ConfigMapKind, &v.ConfigMap.Name)
		}
		if v.Secret != nil {
			rename(SecretKind, &v.Secret.SecretName)
		}
		if v.Projected != nil {
			for j := range v.Projected.Sources {
				src := &v.Projected.Sources[j]
				if src.ConfigMap != nil {
					rename(ConfigMapKind, &src.ConfigMap.Name)
				}
				if src.Secret != nil {
					rename(SecretKind, &src.Secret.Name)
				}
			}
		}
	}
	for _, c := range allContainers(spec) {
		for j := range c.EnvFrom {
			if ref := c.EnvFrom[j].ConfigMapRef; ref != nil {
				rename(ConfigMapKind, &ref.Name)
			}
			if ref := c.EnvFrom[j].SecretRef; ref != nil {
				rename(SecretKind, &ref.Name)
			}
		}
		for j := range c.Env {
			vf := c.Env[j].ValueFrom
			if vf == nil {
				continue
			}
			if vf.ConfigMapKeyRef != nil {
				rename(ConfigMapKind, &vf.ConfigMapKeyRef.Name)
			}
			if vf.SecretKeyRef != nil {
				rename(SecretKind, &vf.SecretKeyRef.Name)
			}
		}
	}
}

// Checksum hashes a config's data independently of map order.
func Checksum(data map[string]string, binary map[string][]byte) string {
	keys := make([]string, 0, len(data)+len(binary))
	for k := range data {
		keys = append(keys, "s/"+k)
	}
	for k := range binary {
		keys = append(keys, "b/"+k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		var v []byte
		if k[0] == 's' {
			v = []byte(data[k[2:]])
		} else {
			v = binary[k[2:]]
		}
		fmt.Fprintf(h, "%d:%s=%d:", len(k), k, len(v))
		h.Write(v)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
