package metrics

import (
	"math"
	"testing"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

func TestThresholds(t *testing.T) {
	cases := map[string]struct {
		metric         flaggerv1.CanaryMetric // the metric's spec
		wantLo, wantHi *float64               // the expected range; nil is open
	}{
		"threshold range wins over threshold": {
			metric: flaggerv1.CanaryMetric{Name: RequestSuccessRate, Threshold: ptr(50),
				ThresholdRange: &flaggerv1.CanaryThresholdRange{Min: ptr(99), Max: ptr(100)}},
			wantLo: ptr(99), wantHi: ptr(100)},
		"threshold of the success rate is a minimum": {
			metric: flaggerv1.CanaryMetric{Name: RequestSuccessRate, Threshold: ptr(99)}, wantLo: ptr(99)},
		"threshold of the request duration is a maximum": {
			metric: flaggerv1.CanaryMetric{Name: RequestDuration, Threshold: ptr(500)}, wantHi: ptr(500)},
		"threshold of any other metric is a maximum": {
			metric: flaggerv1.CanaryMetric{Name: "error-rate", Threshold: ptr(1)}, wantHi: ptr(1)},
		"no threshold accepts anything": {
			metric: flaggerv1.CanaryMetric{Name: "error-rate"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			lo, hi := thresholds(tc.metric)
			if !sameBound(lo, tc.wantLo) || !sameBound(hi, tc.wantHi) {
				t.Errorf("thresholds = [%v, %v], want [%v, %v]", show(lo), show(hi), show(tc.wantLo), show(tc.wantHi))
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	cases := map[string]struct {
		metric      string   // metric name
		builtin     bool     // a built-in metric rather than a template
		value       float64  // the measured value
		lo, hi      *float64 // the accepted range
		wantMessage string   // the halt message; empty means passed
	}{
		"success rate within range passes": {
			metric: RequestSuccessRate, builtin: true, value: 99.5, lo: ptr(99)},
		"success rate on the bound passes": {
			metric: RequestSuccessRate, builtin: true, value: 99, lo: ptr(99)},
		"success rate below minimum": {
			metric: RequestSuccessRate, builtin: true, value: 69.1666, lo: ptr(99),
			wantMessage: "Halt podinfo.test advancement success rate 69.17% < 99%"},
		"success rate above maximum": {
			metric: RequestSuccessRate, builtin: true, value: 100, hi: ptr(99.5),
			wantMessage: "Halt podinfo.test advancement success rate 100.00% > 99.5%"},
		"request duration above maximum": {
			metric: RequestDuration, builtin: true, value: 1234.5678, hi: ptr(500),
			wantMessage: "Halt podinfo.test advancement request duration 1.23s > 500ms"},
		"request duration of 1.2s": {
			metric: RequestDuration, builtin: true, value: 1200, hi: ptr(500),
			wantMessage: "Halt podinfo.test advancement request duration 1.2s > 500ms"},
		"short request duration keeps its precision": {
			metric: RequestDuration, builtin: true, value: 2.5, hi: ptr(1),
			wantMessage: "Halt podinfo.test advancement request duration 2.5ms > 1ms"},
		"infinite request duration": {
			metric: RequestDuration, builtin: true, value: math.Inf(1), hi: ptr(500),
			wantMessage: "Halt podinfo.test advancement request duration +Inf > 500ms"},
		"request duration below minimum": {
			metric: RequestDuration, builtin: true, value: 5, lo: ptr(10),
			wantMessage: "Halt podinfo.test advancement request duration 5ms < 10ms"},
		"request duration within range passes": {
			metric: RequestDuration, builtin: true, value: 250, hi: ptr(500)},
		"custom metric above maximum": {
			metric: "error-rate", value: 1.234, hi: ptr(1),
			wantMessage: "Halt podinfo.test advancement error-rate 1.23 > 1"},
		"custom metric below minimum": {
			metric: "throughput", value: 3, lo: ptr(10.5),
			wantMessage: "Halt podinfo.test advancement throughput 3.00 < 10.5"},
		"template named like a built-in uses the plain wording": {
			metric: RequestDuration, value: 1200, hi: ptr(500),
			wantMessage: "Halt podinfo.test advancement request-duration 1200.00 > 500"},
		"no range passes": {
			metric: "error-rate", value: 1e9},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := Result{Name: tc.metric, Value: tc.value, Min: tc.lo, Max: tc.hi}
			r.evaluate("podinfo.test", tc.builtin)
			if r.Passed != (tc.wantMessage == "") || r.Message != tc.wantMessage {
				t.Errorf("passed = %v, message = %q; want message %q", r.Passed, r.Message, tc.wantMessage)
			}
		})
	}
}

func TestNoValuesMessage(t *testing.T) {
	got := noValuesMessage("podinfo.test", "appmesh", RequestSuccessRate)
	want := "Halt advancement no values found for appmesh metric request-success-rate probably podinfo.test is not receiving traffic"
	if got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func sameBound(a, b *float64) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func show(v *float64) any {
	if v == nil {
		return "open"
	}
	return *v
}
