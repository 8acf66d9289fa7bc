package replay

import (
	"errors"
	"fmt"

	"k8s.io/utils/ptr"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/metrics"
)

// Policy is how a replay judges the canary.
type Policy string

// The policies a replay can apply.
const (
	// AsWritten judges as the manifest says.
	AsWritten Policy = ""
	// Thresholds drops the judge: the built-in metrics it compared are held
	// to the seed's thresholds again.
	Thresholds Policy = "thresholds"
	// Judge compares the built-in metrics with the primary, with the
	// manifest's judge settings or those of docs/judge.md's study.
	Judge Policy = "judge"
)

// Defaults of a policy the manifest does not write: the seed's thresholds
// and the judge settings of the simulation study in docs/judge.md.
const (
	defaultMinSuccessRate  = 99.0
	defaultMaxDurationMS   = 500.0
	defaultErrorMargin     = "+0.5pp"
	defaultLatencyMargin   = "+10%"
	defaultInconclusive    = 30
	defaultInconclusiveDo  = "promote"
	defaultJudgeConfidence = 99.0
)

// Apply returns a copy of the canary judged under policy p.
func Apply(c *flaggerv1.Canary, p Policy) (*flaggerv1.Canary, error) {
	out := c.DeepCopy()
	a := out.GetAnalysis()
	if a == nil {
		return nil, fmt.Errorf("canary %s has no analysis", c)
	}
	switch p {
	case AsWritten:
		return out, nil
	case Thresholds:
		a.Judge = nil
		for i := range a.Metrics {
			if err := toThreshold(&a.Metrics[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	case Judge:
		if a.Judge == nil {
			a.Judge = &flaggerv1.CanaryJudge{Confidence: defaultJudgeConfidence,
				Inconclusive: flaggerv1.JudgeInconclusivePolicy{MaxSteps: defaultInconclusive, Then: defaultInconclusiveDo}}
		}
		compared := 0
		for i := range a.Metrics {
			compared += toComparison(&a.Metrics[i])
		}
		if compared == 0 {
			return nil, errors.New("--judge: no metric to compare: the judge compares request-success-rate, request-duration and MetricTemplates with compare")
		}
		return out, nil
	}
	return nil, fmt.Errorf("policy %q: use --judge or --thresholds", p)
}

// toThreshold holds a compared built-in metric to the seed's threshold.
func toThreshold(m *flaggerv1.CanaryMetric) error {
	if m.Compare == nil {
		return nil
	}
	limit := map[string]flaggerv1.CanaryThresholdRange{
		metrics.RequestSuccessRate: {Min: ptr.To(defaultMinSuccessRate)},
		metrics.RequestDuration:    {Max: ptr.To(defaultMaxDurationMS)},
	}
	r, ok := limit[m.Name]
	if !ok || m.TemplateRef != nil {
		return fmt.Errorf("--thresholds: metric %s has compare and no threshold to fall back on; only the built-in request-success-rate and request-duration have one", m.Name)
	}
	m.Compare, m.ThresholdRange, m.Threshold = nil, &r, nil
	return nil
}

// toComparison compares a built-in metric held to a threshold; it returns
// 1 when the metric is compared.
func toComparison(m *flaggerv1.CanaryMetric) int {
	if m.Compare != nil {
		return 1
	}
	margin := map[string]string{metrics.RequestSuccessRate: defaultErrorMargin, metrics.RequestDuration: defaultLatencyMargin}[m.Name]
	if margin == "" || m.TemplateRef != nil || m.Query != "" {
		return 0
	}
	m.Compare = &flaggerv1.MetricComparison{AllowedDegradation: margin}
	m.Threshold, m.ThresholdRange = nil, nil
	return 1
}
