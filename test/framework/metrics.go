package framework

import (
	"context"
	"fmt"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metric returns the sum of the samples of a counter or gauge exposed by
// the operator whose labels include labels.
func (o *Operator) Metric(ctx context.Context, name string, labels map[string]string) (float64, error) {
	samples, err := o.series(ctx, name, labels)
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for _, m := range samples {
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		}
	}
	return sum, nil
}

// Settled reports whether the operator has finished at least one canary
// reconcile and has nothing queued or in flight.
func (o *Operator) Settled(ctx context.Context) (bool, string) {
	done, err := o.Metric(ctx, "controller_runtime_reconcile_total", map[string]string{"controller": "canary"})
	if err != nil {
		return false, err.Error()
	}
	depth, err := o.Metric(ctx, "workqueue_depth", map[string]string{"name": "canary"})
	if err != nil {
		return false, err.Error()
	}
	active, err := o.Metric(ctx, "controller_runtime_active_workers", map[string]string{"controller": "canary"})
	if err != nil {
		return false, err.Error()
	}
	return done >= 1 && depth == 0 && active == 0, fmt.Sprintf("reconciles=%v queue=%v active=%v", done, depth, active)
}

// Series counts the series of a metric of any type whose labels include
// labels; an error when /metrics does not answer 200 with valid text.
func (o *Operator) Series(ctx context.Context, name string, labels map[string]string) (int, error) {
	samples, err := o.series(ctx, name, labels)
	return len(samples), err
}

func (o *Operator) series(ctx context.Context, name string, labels map[string]string) ([]*dto.Metric, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.MetricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", o.MetricsURL, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", o.MetricsURL, err)
	}
	var out []*dto.Metric
	for _, m := range families[name].GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		match := true
		for k, v := range labels {
			match = match && have[k] == v
		}
		if match {
			out = append(out, m)
		}
	}
	return out, nil
}

// Histogram returns the one histogram series of name whose labels include
// labels; an error when there is none or more than one.
func (o *Operator) Histogram(ctx context.Context, name string, labels map[string]string) (*dto.Histogram, error) {
	samples, err := o.series(ctx, name, labels)
	if err != nil {
		return nil, err
	}
	if len(samples) != 1 || samples[0].Histogram == nil {
		return nil, fmt.Errorf("%s: %d series with labels %v, want one histogram", name, len(samples), labels)
	}
	return samples[0].Histogram, nil
}
