package workload

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func template(image string, annotations map[string]string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "podinfo-primary"}, Annotations: annotations},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "podinfo", Image: image}}},
	}
}

func TestFlaggersPrimaryTemplateIsKeptWhenOnlyTheFlaggerIDDiffers(t *testing.T) {
	cases := map[string]struct {
		want, got   *corev1.PodTemplateSpec // Serin's template and the primary's
		same        bool                    // SameTemplate's answer
		keptID      string                  // want's flagger-id after KeepFlaggerID
		annotations int                     // want's annotations after KeepFlaggerID
	}{
		"a primary Flagger built from the same template, without other annotations": {
			want: template("podinfo:3.1.1", nil), got: template("podinfo:3.1.1", map[string]string{"flagger-id": "5c1d"}),
			same: true, keptID: "5c1d", annotations: 1,
		},
		"a primary Flagger built, with the target's annotations": {
			want: template("podinfo:3.1.1", map[string]string{"prometheus.io/scrape": "true"}),
			got:  template("podinfo:3.1.1", map[string]string{"prometheus.io/scrape": "true", "flagger-id": "5c1d"}),
			same: true, keptID: "5c1d", annotations: 2,
		},
		"a primary Flagger built from another image": {
			want: template("podinfo:3.1.2", nil), got: template("podinfo:3.1.1", map[string]string{"flagger-id": "5c1d"}),
			same: false, keptID: "", annotations: 0,
		},
		"a primary Flagger built whose other annotations differ": {
			want: template("podinfo:3.1.1", map[string]string{"team": "b"}),
			got:  template("podinfo:3.1.1", map[string]string{"team": "a", "flagger-id": "5c1d"}),
			same: false, keptID: "", annotations: 1,
		},
		"a primary Serin built": {
			want: template("podinfo:3.1.1", nil), got: template("podinfo:3.1.1", nil),
			same: true, keptID: "", annotations: 0,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := SameTemplate(tc.want, tc.got); got != tc.same {
				t.Errorf("SameTemplate = %v, want %v", got, tc.same)
			}
			KeepFlaggerID(tc.want, tc.got)
			if id := tc.want.Annotations[FlaggerIDAnnotation]; id != tc.keptID || len(tc.want.Annotations) != tc.annotations {
				t.Errorf("after KeepFlaggerID the template's annotations are %v, want flagger-id %q among %d", tc.want.Annotations, tc.keptID, tc.annotations)
			}
		})
	}
}
