package controller

import (
	"context"
	"fmt"
	"strconv"
	"time"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
	"github.com/serin-dev/serin/internal/metrics"
	"github.com/serin-dev/serin/internal/notify"
	"github.com/serin-dev/serin/internal/webhook"
)

// WebhookClient adapts webhook.Client to what the analysis needs.
type WebhookClient struct{ Client *webhook.Client }

var _ Webhooks = WebhookClient{}

// Run calls the webhooks of type t.
func (w WebhookClient) Run(ctx context.Context, c *flaggerv1.Canary, t flaggerv1.HookType, checksum string) []analysis.HookResult {
	res := w.Client.Run(ctx, c, t, checksum)
	out := make([]analysis.HookResult, len(res))
	for i, r := range res {
		out[i] = analysis.HookResult{Name: r.Name, Err: r.Err}
	}
	return out
}

// EventSinks are the canary's event webhooks and the operator's.
func (w WebhookClient) EventSinks(c *flaggerv1.Canary) []notify.Sink {
	return w.Client.EventSinks(c)
}

// MetricsClient adapts metrics.Checker to what the analysis needs.
type MetricsClient struct{ Checker *metrics.Checker }

var _ MetricsChecker = MetricsClient{}

// Check runs the metrics and describes each result for the status.
func (m MetricsClient) Check(ctx context.Context, c *flaggerv1.Canary, provider string) []analysis.MetricResult {
	res := m.Checker.Check(ctx, c, provider)
	out := make([]analysis.MetricResult, len(res))
	for i, r := range res {
		out[i] = analysis.MetricResult{Name: r.Name, Threshold: thresholdText(r.Min, r.Max), Passed: r.Passed, Message: r.Message, NoValues: r.NoValues}
		if r.Err == nil && !r.NoValues {
			out[i].Value = strconv.FormatFloat(r.Value, 'f', 2, 64)
		}
	}
	return out
}

// Compare measures the compared metrics for the judge.
func (m MetricsClient) Compare(ctx context.Context, c *flaggerv1.Canary, provider string, window time.Duration) []analysis.ComparisonResult {
	res := m.Checker.Compare(ctx, c, provider, window)
	out := make([]analysis.ComparisonResult, len(res))
	for i, r := range res {
		out[i] = analysis.ComparisonResult{Name: r.Name, Kind: r.Kind, AllowedDegradation: r.AllowedDegradation, Window: r.Window, Message: r.Message}
	}
	return out
}

// thresholdText writes an accepted range as ">= 99", "<= 500" or "1 .. 5".
func thresholdText(lo, hi *float64) string {
	switch {
	case lo != nil && hi != nil:
		return fmt.Sprintf("%v .. %v", *lo, *hi)
	case lo != nil:
		return fmt.Sprintf(">= %v", *lo)
	case hi != nil:
		return fmt.Sprintf("<= %v", *hi)
	}
	return ""
}
