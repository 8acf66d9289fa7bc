package workload

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func newTarget(replicas *int32, labels map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test", Labels: map[string]string{"app": "podinfo", "team": "a"},
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "3", "owner": "team-a"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       podSpecUsingConfigs(),
			},
		},
	}
}

func TestSelectorLabelTakesTheFirstCandidatePresent(t *testing.T) {
	cases := map[string]struct {
		labels    map[string]string // the target's selector
		wantKey   string
		wantError bool
	}{
		"app wins over name":            {labels: map[string]string{"name": "n", "app": "a"}, wantKey: "app"},
		"name when app is absent":       {labels: map[string]string{"name": "n"}, wantKey: "name"},
		"the recommended label":         {labels: map[string]string{"app.kubernetes.io/name": "x"}, wantKey: "app.kubernetes.io/name"},
		"no candidate is an error":      {labels: map[string]string{"tier": "web"}, wantError: true},
		"an empty value does not count": {labels: map[string]string{"app": ""}, wantError: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			key, _, err := SelectorLabel(newTarget(nil, tc.labels), []string{"app", "name", "app.kubernetes.io/name"})
			if tc.wantError {
				if err == nil || !strings.Contains(err.Error(), "--selector-labels") {
					t.Fatalf("error %v, want one naming --selector-labels", err)
				}
				return
			}
			if err != nil || key != tc.wantKey {
				t.Fatalf("SelectorLabel = %q, %v; want %q", key, err, tc.wantKey)
			}
		})
	}
}

func TestNewPrimaryCopiesTheTargetUnderPrimaryLabels(t *testing.T) {
	replicas := int32(3)
	target := newTarget(&replicas, map[string]string{"app": "podinfo"})
	spec := PrimarySpec{Target: target, LabelKey: "app", LabelValue: "podinfo", TrackedConfig: map[string]bool{"configmap/app-config": true}}
	p := spec.NewPrimary()
	if p.Name != "podinfo-primary" || p.Namespace != "test" {
		t.Errorf("primary %s/%s", p.Namespace, p.Name)
	}
	if *p.Spec.Replicas != 3 {
		t.Errorf("replicas %d, want 3", *p.Spec.Replicas)
	}
	if p.Spec.Selector.MatchLabels["app"] != "podinfo-primary" || p.Spec.Template.Labels["app"] != "podinfo-primary" {
		t.Errorf("selector %v, template labels %v", p.Spec.Selector.MatchLabels, p.Spec.Template.Labels)
	}
	if p.Labels["team"] != "a" || p.Labels["app"] != "podinfo-primary" {
		t.Errorf("labels %v", p.Labels)
	}
	if _, ok := p.Annotations["deployment.kubernetes.io/revision"]; ok || p.Annotations["owner"] != "team-a" {
		t.Errorf("annotations %v: want the user's kept and the Deployment controller's dropped", p.Annotations)
	}
	if got := p.Spec.Template.Spec.Volumes[0].ConfigMap.Name; got != "app-config-primary" {
		t.Errorf("config reference %q, want app-config-primary", got)
	}
	if target.Spec.Template.Labels["app"] != "podinfo" || target.Spec.Template.Spec.Volumes[0].ConfigMap.Name != "app-config" {
		t.Error("NewPrimary modified the target")
	}
}

func TestNewPrimaryNeverStartsAtZeroReplicas(t *testing.T) {
	for _, replicas := range []*int32{nil, new(int32)} {
		p := PrimarySpec{Target: newTarget(replicas, map[string]string{"app": "podinfo"}), LabelKey: "app", LabelValue: "podinfo"}.NewPrimary()
		if *p.Spec.Replicas != 1 {
			t.Errorf("target replicas %v: primary replicas %d, want 1", replicas, *p.Spec.Replicas)
		}
	}
}

func TestTemplateHashChangesWithTheTemplate(t *testing.T) {
	d := newTarget(nil, map[string]string{"app": "podinfo"})
	h1 := TemplateHash(&d.Spec.Template)
	if h1 != TemplateHash(d.Spec.Template.DeepCopy()) {
		t.Fatal("hash is not deterministic")
	}
	d.Spec.Template.Spec.Containers[0].Image = "stefanprodan/podinfo:3.1.1"
	if TemplateHash(&d.Spec.Template) == h1 {
		t.Error("hash unchanged after an image change")
	}
}
