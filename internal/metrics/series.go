package metrics

import (
	"errors"
	"math"
	"sort"
	"strconv"

	"github.com/prometheus/common/model"

	"github.com/serin-dev/serin/internal/judge"
)

// maxHistogramSeries bounds a histogram query's reply: the judge takes at
// most 64 finite buckets and the +Inf one.
const maxHistogramSeries = 65

// countOf reads a comparison's count: one series or a scalar, zero when
// the query returned nothing (no requests, or no failed ones, in the
// window). More than one series is a query that forgot its sum(): its
// first series would be a count of part of the traffic.
func countOf(value model.Value) (float64, error) {
	if vec, ok := value.(model.Vector); ok && len(vec) > 1 {
		return 0, shapeErrorf("query returned %d series; a count must be one series, e.g. sum(increase(...))", len(vec))
	}
	v, err := firstSample(value)
	if errors.Is(err, errNoValues) {
		return 0, nil
	}
	return v, err
}

// histogramOf reads a latency histogram from one series per bucket, each
// labelled le with its upper bound (sum(increase(..._bucket[...])) by
// (le)). No series is a window without requests: an empty histogram.
func histogramOf(value model.Value) (judge.Histogram, error) {
	vec, ok := value.(model.Vector)
	if !ok {
		if value == nil {
			return judge.Histogram{}, nil
		}
		return judge.Histogram{}, &resultTypeError{typ: value.Type()}
	}
	if len(vec) == 0 {
		return judge.Histogram{}, nil
	}
	if len(vec) > maxHistogramSeries {
		return judge.Histogram{}, shapeErrorf("histogram query returned %d series; at most %d buckets are compared", len(vec), maxHistogramSeries)
	}
	type bucket struct{ le, count float64 }
	buckets := make([]bucket, 0, len(vec))
	for _, s := range vec {
		text, ok := s.Metric[model.BucketLabel]
		if !ok {
			return judge.Histogram{}, shapeErrorf("histogram query returned a series without an le label; keep it, e.g. sum(...) by (le)")
		}
		le, err := strconv.ParseFloat(string(text), 64)
		if err != nil || math.IsNaN(le) {
			return judge.Histogram{}, shapeErrorf("histogram query returned the bucket le=%.20q, which is not a number", text)
		}
		count := float64(s.Value)
		if math.IsNaN(count) {
			count = 0 // increase() over a bucket without samples
		}
		buckets = append(buckets, bucket{le, count})
	}
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].le < buckets[j].le })
	bounds, cumulative := make([]float64, len(buckets)), make([]float64, len(buckets))
	for i, b := range buckets {
		if i > 0 && b.le == buckets[i-1].le {
			return judge.Histogram{}, shapeErrorf("histogram query returned the bucket le=%v twice; aggregate by (le)", b.le)
		}
		bounds[i], cumulative[i] = b.le, b.count
	}
	h, err := judge.FromCumulative(bounds, cumulative)
	if err != nil {
		return h, shapeErrorf("histogram query: %v", err)
	}
	return h, nil
}
