package metrics

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// canaryOption changes a test canary.
type canaryOption func(*flaggerv1.Canary)

// newCanary returns a canary name.test targeting the Deployment name.
func newCanary(name string, opts ...canaryOption) *flaggerv1.Canary {
	c := &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "test"},
		Spec: flaggerv1.CanarySpec{
			TargetRef: flaggerv1.TargetReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			Service:   flaggerv1.CanaryService{Port: 9898},
		},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func withService(name string) canaryOption {
	return func(c *flaggerv1.Canary) { c.Spec.Service.Name = name }
}

func withIngress(name string) canaryOption {
	return func(c *flaggerv1.Canary) {
		c.Spec.IngressRef = &flaggerv1.TargetReference{Kind: "Ingress", Name: name}
	}
}

func withMetricsServer(address string) canaryOption {
	return func(c *flaggerv1.Canary) { c.Spec.MetricsServer = address }
}

// withMetrics sets spec.analysis.metrics.
func withMetrics(metrics ...flaggerv1.CanaryMetric) canaryOption {
	return func(c *flaggerv1.Canary) {
		c.Spec.Analysis = &flaggerv1.CanaryAnalysis{Interval: "1m", StepWeight: 10, Metrics: metrics}
	}
}

func ptr(v float64) *float64 { return &v }
