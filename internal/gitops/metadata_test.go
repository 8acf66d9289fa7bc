package gitops

import (
	"maps"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A Deployment as Flux, Argo CD and Helm leave it: each tool's ownership
// metadata beside the team's own labels and annotations.
func ownedByEveryTool() *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{
		Name: "podinfo",
		Labels: map[string]string{
			"app":                                   "podinfo",
			"team":                                  "checkout",
			"app.kubernetes.io/name":                "podinfo",
			"app.kubernetes.io/instance":            "podinfo-prod",
			"app.kubernetes.io/managed-by":          "Helm",
			"kustomize.toolkit.fluxcd.io/name":      "apps",
			"kustomize.toolkit.fluxcd.io/namespace": "flux-system",
			"helm.toolkit.fluxcd.io/name":           "podinfo",
			"argocd.argoproj.io/instance":           "podinfo",
		},
		Annotations: map[string]string{
			"owner":                                            "team-checkout",
			"argocd.argoproj.io/tracking-id":                   "podinfo:apps/Deployment:prod/podinfo",
			"argocd.argoproj.io/sync-options":                  "Prune=false",
			"meta.helm.sh/release-name":                        "podinfo",
			"meta.helm.sh/release-namespace":                   "prod",
			"kustomize.toolkit.fluxcd.io/checksum":             "0a40893b",
			"kubectl.kubernetes.io/last-applied-configuration": "{}",
			"deployment.kubernetes.io/revision":                "4",
		},
	}}
}

func TestIsOwnershipKeyTellsToolsMetadataFromTheTeams(t *testing.T) {
	cases := map[string]struct {
		key, value  string
		annotations map[string]string // the object's annotations
		want        bool
	}{
		"a Flux kustomize label":                             {key: "kustomize.toolkit.fluxcd.io/name", value: "apps", want: true},
		"a Flux helm-controller label":                       {key: "helm.toolkit.fluxcd.io/namespace", value: "flux-system", want: true},
		"Argo CD's tracking annotation":                      {key: "argocd.argoproj.io/tracking-id", value: "a:apps/Deployment:ns/x", want: true},
		"Argo CD's recommended custom tracking key":          {key: "argocd.argoproj.io/instance", value: "a", want: true},
		"Helm's release annotation":                          {key: "meta.helm.sh/release-name", value: "podinfo", want: true},
		"client-side apply's record":                         {key: "kubectl.kubernetes.io/last-applied-configuration", value: "{}", want: true},
		"managed-by Helm":                                    {key: "app.kubernetes.io/managed-by", value: "Helm", want: true},
		"managed-by another tool is the team's":              {key: "app.kubernetes.io/managed-by", value: "team-scripts", want: false},
		"instance label without a Helm release is Argo CD's": {key: "app.kubernetes.io/instance", value: "podinfo", want: true},
		"instance label naming another release than Helm's is Argo CD's": {
			key: "app.kubernetes.io/instance", value: "argo-app", annotations: map[string]string{"meta.helm.sh/release-name": "podinfo"}, want: true},
		"instance label equal to Helm's release name is the chart's": {
			key: "app.kubernetes.io/instance", value: "podinfo", annotations: map[string]string{"meta.helm.sh/release-name": "podinfo"}, want: false},
		"a team label":                      {key: "team", value: "checkout", want: false},
		"Flux v1's ignore annotation stays": {key: "fluxcd.io/ignore", value: "false", want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := IsOwnershipKey(tc.key, tc.value, tc.annotations); got != tc.want {
				t.Errorf("IsOwnershipKey(%q, %q) = %v, want %v", tc.key, tc.value, got, tc.want)
			}
		})
	}
}

func TestCopiedLabelsFollowIncludeLabelPrefixAndNeverCarryOwnership(t *testing.T) {
	cases := map[string]struct {
		prefixes []string // the -include-label-prefix entries
		want     map[string]string
	}{
		"Flagger's default copies no label":    {want: map[string]string{}},
		"a prefix copies the labels it starts": {prefixes: []string{"app.kubernetes.io/"}, want: map[string]string{"app.kubernetes.io/name": "podinfo"}},
		"several prefixes": {prefixes: []string{"team", "app"}, want: map[string]string{
			"team": "checkout", "app": "podinfo", "app.kubernetes.io/name": "podinfo"}},
		"a star copies every label but ownership": {prefixes: []string{"*"}, want: map[string]string{
			"app": "podinfo", "team": "checkout", "app.kubernetes.io/name": "podinfo"}},
		"a prefix naming ownership keys still copies none of them": {prefixes: []string{"kustomize.toolkit.fluxcd.io/", "argocd.argoproj.io/", "app.kubernetes.io/instance"},
			want: map[string]string{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := CopyRule{LabelPrefixes: tc.prefixes}.Labels(ownedByEveryTool())
			if !maps.Equal(got, tc.want) {
				t.Errorf("labels %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCopiedAnnotationsKeepTheTeamsAndDropOwnershipAndSkipped(t *testing.T) {
	got := CopiedAnnotations(ownedByEveryTool(), "deployment.kubernetes.io/revision")
	want := map[string]string{"owner": "team-checkout"}
	if !maps.Equal(got, want) {
		t.Errorf("annotations %v, want %v", got, want)
	}
}

func TestTheInstanceLabelOfAHelmReleaseIsCopied(t *testing.T) {
	d := ownedByEveryTool()
	d.Labels["app.kubernetes.io/instance"] = "podinfo"
	got := CopyRule{LabelPrefixes: []string{"app.kubernetes.io/"}}.Labels(d)
	want := map[string]string{"app.kubernetes.io/name": "podinfo", "app.kubernetes.io/instance": "podinfo"}
	if !maps.Equal(got, want) {
		t.Errorf("labels %v, want %v", got, want)
	}
}

func TestMarkSetsBothFluxMarkersAndKeepsOtherAnnotations(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"gateway.appmesh.k8s.aws/expose": "true"}}}
	Mark(svc)
	want := map[string]string{
		"gateway.appmesh.k8s.aws/expose":        "true",
		"kustomize.toolkit.fluxcd.io/reconcile": "disabled",
		"helm.toolkit.fluxcd.io/driftDetection": "disabled",
	}
	if !maps.Equal(svc.Annotations, want) {
		t.Errorf("annotations %v, want %v", svc.Annotations, want)
	}
	bare := &corev1.Service{}
	Mark(bare)
	if bare.Annotations[KustomizeReconcileKey] != DisabledValue {
		t.Errorf("an object without annotations: %v", bare.Annotations)
	}
}

func TestPodTemplatesLoseOnlyFluxKeys(t *testing.T) {
	in := map[string]string{"app.kubernetes.io/instance": "podinfo", "app.kubernetes.io/managed-by": "Helm", "kustomize.toolkit.fluxcd.io/name": "apps"}
	got := WithoutFluxKeys(in)
	want := map[string]string{"app.kubernetes.io/instance": "podinfo", "app.kubernetes.io/managed-by": "Helm"}
	if !maps.Equal(got, want) || len(in) != 3 {
		t.Errorf("template labels %v, want %v, input untouched", got, want)
	}
}
