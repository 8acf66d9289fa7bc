package controller

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

func canaryWithRefs(templateNS, providerNS string, v1alpha3 bool) *flaggerv1.Canary {
	a := &flaggerv1.CanaryAnalysis{
		Metrics: []flaggerv1.CanaryMetric{
			{Name: "request-success-rate"},
			{Name: "errors", TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "errors", Namespace: templateNS}},
		},
		Alerts: []flaggerv1.CanaryAlert{{Name: "on-call", ProviderRef: flaggerv1.CrossNamespaceObjectReference{Name: "slack", Namespace: providerNS}}},
	}
	c := &flaggerv1.Canary{ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "tenant-b"}}
	if v1alpha3 {
		c.Spec.CanaryAnalysis = a
	} else {
		c.Spec.Analysis = a
	}
	return c
}

func TestCrossNamespaceReferencesAreRefusedWithTheFlag(t *testing.T) {
	cases := map[string]struct {
		flag                   bool   // --no-cross-namespace-refs
		templateNS, providerNS string // the references' namespaces
		v1alpha3               bool   // spec.canaryAnalysis instead of spec.analysis
		want                   string // the refusal; empty when accepted
	}{
		"references in the canary's namespace":           {flag: true, templateNS: "tenant-b", providerNS: ""},
		"references without a namespace":                 {flag: true},
		"another namespace without the flag is accepted": {templateNS: "tenant-a", providerNS: "tenant-a"},
		"a template in another namespace is refused": {flag: true, templateNS: "tenant-a",
			want: "The operator refuses references to other namespaces (--no-cross-namespace-refs): spec.analysis.metrics[1].templateRef.namespace tenant-a; use a MetricTemplate or AlertProvider in namespace tenant-b"},
		"an alert provider in another namespace is refused": {flag: true, providerNS: "monitoring",
			want: "The operator refuses references to other namespaces (--no-cross-namespace-refs): spec.analysis.alerts[0].providerRef.namespace monitoring; use a MetricTemplate or AlertProvider in namespace tenant-b"},
		"every refused reference is named": {flag: true, templateNS: "tenant-a", providerNS: "monitoring",
			want: "The operator refuses references to other namespaces (--no-cross-namespace-refs): spec.analysis.metrics[1].templateRef.namespace tenant-a, spec.analysis.alerts[0].providerRef.namespace monitoring; use a MetricTemplate or AlertProvider in namespace tenant-b"},
		"v1alpha3 names its own field": {flag: true, templateNS: "tenant-a", v1alpha3: true,
			want: "The operator refuses references to other namespaces (--no-cross-namespace-refs): spec.canaryAnalysis.metrics[1].templateRef.namespace tenant-a; use a MetricTemplate or AlertProvider in namespace tenant-b"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := &CanaryReconciler{NoCrossNamespaceRefs: tc.flag}
			err := r.refuseCrossNamespaceRefs(canaryWithRefs(tc.templateNS, tc.providerNS, tc.v1alpha3))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			p := asProblem(err)
			if err == nil || p.message != tc.want || p.reason != "CrossNamespaceRefsRefused" || !p.stalled {
				t.Fatalf("problem %+v, want a stalled CrossNamespaceRefsRefused with %q", p, tc.want)
			}
		})
	}
}

func TestConfigIndexHoldsTrackedConfigsAndPendingCanaries(t *testing.T) {
	tracked := map[string]string{"configmap/podinfo-config": "a", "secret/podinfo-secret": "b"}
	ready := []metav1.Condition{{Type: flaggerv1.ReadyCondition, Status: metav1.ConditionTrue}}
	cases := map[string]struct {
		tracked    *map[string]string // status.trackedConfigs
		conditions []metav1.Condition // status.conditions
		want       []string           // the index values
	}{
		"a ready canary is found by its configs": {tracked: &tracked, conditions: ready,
			want: []string{"configmap/podinfo-config", "secret/podinfo-secret"}},
		"a canary not ready yet waits for any config": {want: []string{pendingConfigs}},
		"a canary that stopped being ready keeps its configs": {tracked: &tracked,
			want: []string{pendingConfigs, "configmap/podinfo-config", "secret/podinfo-secret"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := &flaggerv1.Canary{Status: flaggerv1.CanaryStatus{TrackedConfigs: tc.tracked}}
			for _, cond := range tc.conditions {
				meta.SetStatusCondition(&c.Status.Conditions, cond)
			}
			got := trackedConfigKeys(c)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("index values %v, want %v", got, tc.want)
			}
		})
	}
}
