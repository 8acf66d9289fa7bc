package workload

import (
	"encoding/json"
	"fmt"
	"hash/fnv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/serin-dev/serin/internal/gitops"
)

// SelectorLabel returns the first of candidates present in the
// Deployment's selector, and its value.
func SelectorLabel(d *appsv1.Deployment, candidates []string) (string, string, error) {
	if d.Spec.Selector != nil {
		for _, l := range candidates {
			if v, ok := d.Spec.Selector.MatchLabels[l]; ok && v != "" {
				return l, v, nil
			}
		}
	}
	return "", "", fmt.Errorf("deployment %s has none of the selector labels %v in spec.selector.matchLabels: add one (e.g. app: %s) or start the operator with --selector-labels naming yours",
		d.Name, candidates, d.Name)
}

// TemplateHash identifies a pod template revision; a change of the target's
// template is a new revision to analyse.
func TemplateHash(t *corev1.PodTemplateSpec) string {
	data, err := json.Marshal(t)
	if err != nil {
		// A PodTemplateSpec always marshals; keep the hash total anyway.
		data = []byte(fmt.Sprintf("%#v", t))
	}
	h := fnv.New64a()
	h.Write(data)
	return rand.SafeEncodeString(fmt.Sprint(h.Sum64()))
}

// PrimarySpec is what the primary copies from the target.
type PrimarySpec struct {
	Target        *appsv1.Deployment
	LabelKey      string // the selector label, e.g. app
	LabelValue    string // its value on the target, e.g. podinfo
	TrackedConfig map[string]bool
	// Copy decides which of the target's labels and annotations the
	// primary carries.
	Copy gitops.CopyRule
}

// revisionAnnotation is the Deployment controller's bookkeeping on each
// Deployment; the primary keeps its own.
const revisionAnnotation = "deployment.kubernetes.io/revision"

// PrimaryName of a target Deployment.
func (p PrimarySpec) PrimaryName() string { return PrimaryName(p.Target.Name) }

// PrimaryLabelValue is the selector label value of primary pods.
func (p PrimarySpec) PrimaryLabelValue() string { return PrimaryName(p.LabelValue) }

// NewPrimary returns the primary Deployment for a first creation: the
// target's spec with the selector label value suffixed -primary, tracked
// configs renamed, and the target's replicas (at least one, since the
// primary serves all traffic).
func (p PrimarySpec) NewPrimary() *appsv1.Deployment {
	t := p.Target
	replicas := int32(1)
	if t.Spec.Replicas != nil && *t.Spec.Replicas > 0 {
		replicas = *t.Spec.Replicas
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: p.PrimaryName(), Namespace: t.Namespace},
		Spec:       *t.Spec.DeepCopy(),
	}
	d.Spec.Replicas = &replicas
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{p.LabelKey: p.PrimaryLabelValue()}}
	p.ApplyMetadata(d)
	p.ApplyTemplate(d)
	return d
}

// ApplyTemplate copies the target's pod template into the primary: the
// promotion step and the first creation share it. Flux's keys stay
// behind; other labels stay, since other objects select pods by them.
func (p PrimarySpec) ApplyTemplate(primary *appsv1.Deployment) {
	tmpl := p.Target.Spec.Template.DeepCopy()
	tmpl.Labels = p.withPrimaryLabel(gitops.WithoutFluxKeys(tmpl.Labels))
	if len(tmpl.Annotations) > 0 {
		tmpl.Annotations = gitops.WithoutFluxKeys(tmpl.Annotations)
	}
	RenameConfigRefs(&tmpl.Spec, p.TrackedConfig)
	primary.Spec.Template = *tmpl
}

// ApplyMetadata gives the primary the target's labels and annotations that
// the copy rule lets through, the selector label and the Flux markers; the
// Deployment controller's revision annotation of the primary is kept. The
// first creation and each promotion share it, so metadata the target
// dropped (or an older version copied) leaves the primary too.
func (p PrimarySpec) ApplyMetadata(primary *appsv1.Deployment) {
	primary.Labels = p.withPrimaryLabel(p.Copy.Labels(p.Target))
	annotations := gitops.WithMarkers(gitops.CopiedAnnotations(p.Target, revisionAnnotation))
	if v, ok := primary.Annotations[revisionAnnotation]; ok {
		annotations[revisionAnnotation] = v
	}
	primary.Annotations = annotations
}

// withPrimaryLabel returns in (not modified) with the selector label set
// to the primary's value.
func (p PrimarySpec) withPrimaryLabel(in map[string]string) map[string]string {
	out := make(map[string]string, len(in)+1)
	for k, v := range in {
		out[k] = v
	}
	out[p.LabelKey] = p.PrimaryLabelValue()
	return out
}

// DeploymentTemplate returns a ReplicaSet's pod template as its Deployment
// had it, without the pod-template-hash label the Deployment controller
// adds, so that TemplateHash matches the Deployment's.
func DeploymentTemplate(rs *appsv1.ReplicaSet) *corev1.PodTemplateSpec {
	t := rs.Spec.Template.DeepCopy()
	delete(t.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	return t
}
