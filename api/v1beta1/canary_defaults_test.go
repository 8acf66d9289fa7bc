package v1beta1

import (
	"testing"
	"time"
)

func TestGetMaxWeightRulePerVersion(t *testing.T) {
	cases := map[string]struct {
		spec CanarySpec
		want int
	}{
		"explicit maxWeight":                  {CanarySpec{Analysis: &CanaryAnalysis{MaxWeight: 30, StepWeight: 10}}, 30},
		"last stepWeights entry":              {CanarySpec{Analysis: &CanaryAnalysis{StepWeights: []int{1, 10, 80}}}, 80},
		"v1beta1 analysis defaults to 100":    {CanarySpec{Analysis: &CanaryAnalysis{StepWeight: 10}}, 100},
		"v1alpha3 canaryAnalysis defaults 50": {CanarySpec{CanaryAnalysis: &CanaryAnalysis{StepWeight: 5}}, 50},
		"no analysis":                         {CanarySpec{}, 100},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := &Canary{Spec: tc.spec}
			if got := c.GetMaxWeight(); got != tc.want {
				t.Errorf("GetMaxWeight = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDefaultsOfAnEmptyCanary(t *testing.T) {
	c := &Canary{}
	c.Name, c.Namespace, c.Spec.TargetRef.Name = "podinfo", "test", "podinfo"
	if c.GetInterval() != time.Minute || c.GetThreshold() != 1 || c.GetProgressDeadline() != 10*time.Minute {
		t.Errorf("interval %s threshold %d deadline %s", c.GetInterval(), c.GetThreshold(), c.GetProgressDeadline())
	}
	if c.GetServiceName() != "podinfo" || c.GetPortName() != "http" || c.GetProvider("") != "kubernetes" || c.GetProvider("appmesh") != "appmesh" {
		t.Error("service, port name or provider default is wrong")
	}
	if c.String() != "podinfo.test" {
		t.Errorf("String() = %q", c.String())
	}
	c.Spec.CanaryAnalysis = &CanaryAnalysis{Interval: "10s", Threshold: 5}
	if c.GetInterval() != 10*time.Second || c.GetThreshold() != 5 {
		t.Error("canaryAnalysis (v1alpha3) is not read")
	}
}
