package replay

import (
	"context"
	"time"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
	"github.com/serin-dev/serin/internal/controller"
)

// recorded answers an analysis step from what Prometheus recorded at the
// step's time: the operator's own queries, rendered the same way, run as
// of that time (the checker's clock is the step's).
type recorded struct {
	ctx      context.Context
	canary   *flaggerv1.Canary
	provider string
	metrics  controller.MetricsClient
}

var _ analysis.Checks = (*recorded)(nil)

// Hooks answers as if every webhook succeeded and no rollback webhook
// was invoked: a replay must not call load tests, gates or notifications,
// and their live answers are not recorded. Run says so in its header.
func (r *recorded) Hooks(t flaggerv1.HookType) []analysis.HookResult { return nil }

// Metrics runs the threshold metrics as of the step's time.
func (r *recorded) Metrics() []analysis.MetricResult {
	return r.metrics.Check(r.ctx, r.canary, r.provider)
}

// Compare measures the compared metrics over the window ending at the
// step's time.
func (r *recorded) Compare(window time.Duration) []analysis.ComparisonResult {
	return r.metrics.Compare(r.ctx, r.canary, r.provider, window)
}
