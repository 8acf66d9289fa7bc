package v1beta1

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Defaults applied when a field is unset. They live in code, not in the CRD
// schema, so a GitOps tool's copy of a manifest matches what is stored.
const (
	DefaultProgressDeadlineSeconds = 600
	DefaultThreshold               = 1
	DefaultInterval                = time.Minute
	DefaultMetricInterval          = "1m"
	DefaultWebhookTimeout          = 10 * time.Second
	// DefaultMaxWeightV1alpha3 is the maxWeight of a spec.canaryAnalysis.
	DefaultMaxWeightV1alpha3 = 50
	// DefaultMaxWeight is the maxWeight of a spec.analysis.
	DefaultMaxWeight = 100
	DefaultPortName  = "http"
	DefaultReadyPerc = 100
	defaultProvider  = "kubernetes"
)

// GetAnalysis returns spec.analysis, or spec.canaryAnalysis as v1alpha3
// manifests name it; nil when neither is set.
func (c *Canary) GetAnalysis() *CanaryAnalysis {
	if c.Spec.Analysis != nil {
		return c.Spec.Analysis
	}
	return c.Spec.CanaryAnalysis
}

// GetServiceName returns the apex service name.
func (c *Canary) GetServiceName() string {
	if c.Spec.Service.Name != "" {
		return c.Spec.Service.Name
	}
	return c.Spec.TargetRef.Name
}

// GetTargetPort returns the container port: service.targetPort, else
// service.port.
func (c *Canary) GetTargetPort() intstr.IntOrString {
	if tp := c.Spec.Service.TargetPort; tp != nil {
		return *tp
	}
	return intstr.FromInt32(c.Spec.Service.Port)
}

// GetPortName returns the service port's name.
func (c *Canary) GetPortName() string {
	if c.Spec.Service.PortName != "" {
		return c.Spec.Service.PortName
	}
	return DefaultPortName
}

// GetProvider returns spec.provider, or fallback (the operator's flag) when
// empty, or kubernetes when both are empty.
func (c *Canary) GetProvider(fallback string) string {
	switch {
	case c.Spec.Provider != "":
		return c.Spec.Provider
	case fallback != "":
		return fallback
	default:
		return defaultProvider
	}
}

// GetProgressDeadline returns how long the canary may stay not ready.
func (c *Canary) GetProgressDeadline() time.Duration {
	if d := c.Spec.ProgressDeadlineSeconds; d != nil {
		return time.Duration(*d) * time.Second
	}
	return DefaultProgressDeadlineSeconds * time.Second
}

// GetInterval returns the time between analysis runs.
func (c *Canary) GetInterval() time.Duration {
	a := c.GetAnalysis()
	if a == nil || a.Interval == "" {
		return DefaultInterval
	}
	d, err := time.ParseDuration(a.Interval)
	if err != nil || d <= 0 {
		// The schema rejects such values; this guards objects stored before
		// the schema did.
		return DefaultInterval
	}
	return d
}

// GetThreshold returns the number of failed checks that rolls back.
func (c *Canary) GetThreshold() int {
	if a := c.GetAnalysis(); a != nil && a.Threshold > 0 {
		return a.Threshold
	}
	return DefaultThreshold
}

// GetMaxWeight returns the canary weight at which promotion starts: the
// explicit maxWeight; else the last stepWeights entry; else 50 for a
// v1alpha3 spec.canaryAnalysis and 100 for spec.analysis.
func (c *Canary) GetMaxWeight() int {
	a := c.GetAnalysis()
	switch {
	case a == nil:
		return DefaultMaxWeight
	case a.MaxWeight > 0:
		return a.MaxWeight
	case len(a.StepWeights) > 0:
		return a.StepWeights[len(a.StepWeights)-1]
	case c.Spec.Analysis == nil:
		return DefaultMaxWeightV1alpha3
	default:
		return DefaultMaxWeight
	}
}

// GetMetricInterval returns a metric's query range.
func (m CanaryMetric) GetMetricInterval() string {
	if m.Interval != "" {
		return m.Interval
	}
	return DefaultMetricInterval
}

// String names the canary as Flagger's messages do: name.namespace.
func (c *Canary) String() string {
	return fmt.Sprintf("%s.%s", c.Name, c.Namespace)
}
