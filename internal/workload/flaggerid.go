package workload

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// FlaggerIDAnnotation is the pod template annotation Flagger sets on the
// primary to a new UUID at each promotion, to force a rollout. Serin does
// not write it, but keeps it on a primary Flagger built: removing it would
// restart every primary pod for nothing.
const FlaggerIDAnnotation = "flagger-id"

// SameTemplate reports whether the primary's pod template got is the one
// Serin would write (want), apart from Flagger's flagger-id annotation.
func SameTemplate(want, got *corev1.PodTemplateSpec) bool {
	if _, ok := got.Annotations[FlaggerIDAnnotation]; !ok {
		return equality.Semantic.DeepEqual(*want, *got)
	}
	cp := got.DeepCopy()
	delete(cp.Annotations, FlaggerIDAnnotation)
	w := want.DeepCopy()
	delete(w.Annotations, FlaggerIDAnnotation)
	return equality.Semantic.DeepEqual(*w, *cp)
}

// KeepFlaggerID carries the flagger-id annotation of the primary's current
// template (got) into the template Serin would write (want) when nothing
// else differs, so that writing want changes nothing. A template that does
// change goes without it: the pods roll anyway.
func KeepFlaggerID(want, got *corev1.PodTemplateSpec) {
	id, ok := got.Annotations[FlaggerIDAnnotation]
	if !ok || !SameTemplate(want, got) {
		return
	}
	if want.Annotations == nil {
		want.Annotations = map[string]string{}
	}
	want.Annotations[FlaggerIDAnnotation] = id
}
