package metrics

import (
	"fmt"
	"math"
	"time"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// thresholds returns the accepted range of a metric: thresholdRange, or
// else the deprecated threshold, a minimum for request-success-rate and a
// maximum for every other metric. A nil bound is open.
func thresholds(m flaggerv1.CanaryMetric) (lo, hi *float64) {
	switch {
	case m.ThresholdRange != nil:
		return m.ThresholdRange.Min, m.ThresholdRange.Max
	case m.Threshold == nil:
		return nil, nil
	case m.Name == RequestSuccessRate:
		return m.Threshold, nil
	default:
		return nil, m.Threshold
	}
}

// evaluate compares a measured value with the metric's range and fills in
// Passed and Message. builtin selects the wording of the built-in metrics:
// success rate in percent and request duration as a duration.
func (r *Result) evaluate(canary string, builtin bool) {
	switch {
	case r.Min != nil && r.Value < *r.Min:
		r.Message = haltMessage(canary, r.Name, builtin, r.Value, "<", *r.Min)
	case r.Max != nil && r.Value > *r.Max:
		r.Message = haltMessage(canary, r.Name, builtin, r.Value, ">", *r.Max)
	default:
		r.Passed = true
		r.Message = ""
	}
}

// haltMessage says why the canary does not advance, e.g. "Halt
// podinfo.test advancement success rate 69.17% < 99%".
func haltMessage(canary, metric string, builtin bool, value float64, op string, bound float64) string {
	switch {
	case builtin && metric == RequestSuccessRate:
		return fmt.Sprintf("Halt %s advancement success rate %.2f%% %s %v%%", canary, value, op, bound)
	case builtin && metric == RequestDuration:
		return fmt.Sprintf("Halt %s advancement request duration %v %s %v",
			canary, measuredDuration(value), op, milliseconds(bound))
	default:
		return fmt.Sprintf("Halt %s advancement %s %.2f %s %v", canary, metric, value, op, bound)
	}
}

// noValuesMessage says that a query returned nothing, most often because
// the canary receives no traffic yet.
func noValuesMessage(canary, provider, metric string) string {
	return fmt.Sprintf("Halt advancement no values found for %s metric %s probably %s is not receiving traffic",
		provider, metric, canary)
}

// failedMessage says that a metric could not be checked at all.
func failedMessage(canary, metric string, err error) string {
	return fmt.Sprintf("Halt %s advancement %s: %v", canary, metric, err)
}

// milliseconds converts a value in ms to a time.Duration.
func milliseconds(ms float64) time.Duration {
	return time.Duration(ms * float64(time.Millisecond))
}

// measuredDuration formats a measured latency in ms to 10ms precision
// (1.2s rather than 1.234567s); shorter latencies keep 1µs precision so they
// do not print as 0s, and latencies beyond time.Duration print as PromQL
// would (+Inf when every request fell in the +Inf histogram bucket).
func measuredDuration(ms float64) string {
	switch {
	case math.IsInf(ms, 0):
		return fmt.Sprint(ms)
	case math.Abs(ms) >= float64(math.MaxInt64/int64(time.Millisecond)):
		return fmt.Sprintf("%gms", ms)
	}
	d := milliseconds(ms)
	if d.Abs() >= 10*time.Millisecond {
		return d.Truncate(10 * time.Millisecond).String()
	}
	return d.Truncate(time.Microsecond).String()
}
