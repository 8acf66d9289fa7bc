package replay

import (
	"context"
	"fmt"
	"net/http"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// liveTimeout bounds each query of the live series.
const liveTimeout = 30 * time.Second

// Live is what the operator recorded about a canary in a window, as raw
// samples at their scrape times.
type Live struct {
	// AnalysisTimes is serin_canary_last_analysis_timestamp_seconds: the
	// operator's step times. Empty when the operator did not export it (a
	// window Flagger recorded).
	AnalysisTimes []Sample
	// Weights is flagger_canary_weight of the canary's target workload.
	Weights []Sample
	// Status is flagger_canary_status: 0 progressing, 1 ok, 2 failed.
	Status []Sample
}

// Releases finds the releases and the operator's steps in them: from the
// step times when they were recorded, else from the weight's changes.
func (l Live) Releases(interval time.Duration, end time.Time) ([]Release, error) {
	if len(l.AnalysisTimes) > 0 {
		return StepReleases(l.AnalysisTimes, l.Weights, l.Status), nil
	}
	return Releases(l.Weights, l.Status, interval, end)
}

// LiveSeries reads the canary's live series over the window from the
// Prometheus at address, as range selectors (raw samples) evaluated at to.
func LiveSeries(ctx context.Context, hc *http.Client, address string, c *flaggerv1.Canary, from, to time.Time) (Live, error) {
	var live Live
	client, err := promapi.NewClient(promapi.Config{Address: address, Client: hc})
	if err != nil {
		return live, fmt.Errorf("prometheus client for %s: %w", address, err)
	}
	api := promv1.NewAPI(client)
	window := fmt.Sprintf("[%ds]", int64(to.Sub(from).Seconds())+1)
	queries := []struct {
		selector string
		into     *[]Sample
	}{
		{fmt.Sprintf(`serin_canary_last_analysis_timestamp_seconds{namespace=%q,name=%q}`, c.Namespace, c.Name), &live.AnalysisTimes},
		{fmt.Sprintf(`flagger_canary_weight{namespace=%q,workload=%q}`, c.Namespace, c.Spec.TargetRef.Name), &live.Weights},
		{fmt.Sprintf(`flagger_canary_status{namespace=%q,name=%q}`, c.Namespace, c.Name), &live.Status},
	}
	for _, q := range queries {
		if *q.into, err = rawSamples(ctx, api, q.selector+window, to); err != nil {
			return live, err
		}
	}
	return live, nil
}

// rawSamples runs a range selector and returns its one series' samples;
// several series (the operator scraped twice, under two jobs) are refused.
func rawSamples(ctx context.Context, api promv1.API, query string, at time.Time) ([]Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, liveTimeout)
	defer cancel()
	value, _, _, err := api.Query(ctx, query, at)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", query, err)
	}
	matrix, ok := value.(model.Matrix)
	switch {
	case !ok:
		return nil, fmt.Errorf("query %s returned a %s, not samples", query, value.Type())
	case len(matrix) == 0:
		return nil, nil
	case len(matrix) > 1:
		return nil, fmt.Errorf("query %s returned %d series, e.g. %s and %s: the operator is scraped more than once", query, len(matrix), matrix[0].Metric, matrix[1].Metric)
	}
	out := make([]Sample, 0, len(matrix[0].Values))
	for _, p := range matrix[0].Values {
		out = append(out, Sample{Time: p.Timestamp.Time(), Value: float64(p.Value)})
	}
	return out, nil
}
