package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/utils/ptr"

	"github.com/serin-dev/serin/test/cluster"
	"github.com/serin-dev/serin/test/framework"
)

// breakdown splits the release's latencies between the operator and the
// API server it shares the machine with, from the audit log (when the API
// server received and completed each of the operator's requests) and the
// operator's own metrics. A latency the benchmark measures end to end is
// the sum of the operator's share and the API server's; the targets are
// about the first, and on two shared cores the second dominates.
type breakdown struct {
	// patch is how long each of the benchmark's own target patches took,
	// as its client saw them: the API server's answer to one plain write
	// while the release runs.
	patch []time.Duration
	// reaction is, per canary, the benchmark's patch returned → the
	// operator's first status write of the release received: the watch
	// event reaching the operator, its queue and its reconcile.
	reaction []time.Duration
	// statusWrite is how long the API server took over that write.
	statusWrite []time.Duration
	// writes is how long the API server took over each of the operator's
	// writes during the release (events left out: they are sent apart).
	writes []time.Duration
	// lateness is the operator's own histogram of how late its steps ran
	// over the release (serin_step_lateness_seconds): its share of the
	// lateness the benchmark sees, which adds the API server's write and
	// watch.
	lateness *dto.Histogram
	// rollbackReaction is, per rolled-back canary, its rollback's status
	// write completed → its HTTPRoute patch received; rollbackRoute, the
	// API server's time over that patch.
	rollbackReaction, rollbackRoute []time.Duration
}

// stepLateness reads the operator's step lateness histogram.
func stepLateness(ctx context.Context, op *framework.Operator) (*dto.Histogram, error) {
	return op.Histogram(ctx, "serin_step_lateness_seconds", nil)
}

// since is the histogram of the observations of h after before.
func since(h, before *dto.Histogram) *dto.Histogram {
	out := &dto.Histogram{SampleCount: ptr.To(h.GetSampleCount() - before.GetSampleCount())}
	for i, b := range h.GetBucket() {
		n := b.GetCumulativeCount()
		if i < len(before.GetBucket()) {
			n -= before.GetBucket()[i].GetCumulativeCount()
		}
		out.Bucket = append(out.Bucket, &dto.Bucket{UpperBound: b.UpperBound, CumulativeCount: ptr.To(n)})
	}
	return out
}

// bucketPercentile is the upper bound of the bucket that holds the p-th
// percentile observation of h: the percentile is at most that. +Inf when
// it lies beyond the last bucket; NaN without observations.
func bucketPercentile(h *dto.Histogram, p int) float64 {
	n := h.GetSampleCount()
	if n == 0 {
		return math.NaN()
	}
	rank := (n*uint64(p) + 99) / 100
	for _, b := range h.GetBucket() {
		if b.GetCumulativeCount() >= rank {
			return b.GetUpperBound()
		}
	}
	return math.Inf(1)
}

// operatorShare reads, from the operator's requests reqs, each canary's
// reaction to the patch written at written[name] and the API server's
// time over that status write, and the API server's time over each of
// the operator's writes; reqs are those of the release.
func (b *breakdown) operatorShare(reqs []cluster.Request, written map[string]time.Time) {
	seen := map[string]bool{}
	for _, r := range reqs {
		if r.Code >= http.StatusMultipleChoices {
			continue
		}
		if cluster.IsWrite(r.Verb) && r.Resource != "events" {
			b.writes = append(b.writes, r.Completed.Sub(r.Received))
		}
		at, ok := written[r.Name]
		if !ok || seen[r.Name] || r.Resource != "canaries" || r.Subresource != "status" || r.Received.Before(at) {
			continue
		}
		seen[r.Name] = true
		b.reaction = append(b.reaction, r.Received.Sub(at))
		b.statusWrite = append(b.statusWrite, r.Completed.Sub(r.Received))
	}
}

// print writes the breakdown under the run's table.
func (b *breakdown) print(w io.Writer) {
	ms := func(d []time.Duration) string {
		return fmt.Sprintf("%d / %d ms", percentile(d, 50).Milliseconds(), percentile(d, 99).Milliseconds())
	}
	le := func(h *dto.Histogram) string {
		return fmt.Sprintf("p50 ≤ %s s, p99 ≤ %s s (%d observations)", bound(bucketPercentile(h, 50)), bound(bucketPercentile(h, 99)), h.GetSampleCount())
	}
	fmt.Fprintln(w, "where the time went (p50 / p99):")
	fmt.Fprintf(w, "  API server: the benchmark's own target patch %s; the operator's writes %s (%d writes)\n", ms(b.patch), ms(b.writes), len(b.writes))
	fmt.Fprintf(w, "  detection: patch returned → operator's status write received %s; that write in the API server %s\n", ms(b.reaction), ms(b.statusWrite))
	if b.lateness != nil {
		fmt.Fprintf(w, "  step lateness as the operator measures it (due → run): %s\n", le(b.lateness))
	}
	if len(b.rollbackReaction) > 0 {
		fmt.Fprintf(w, "  rollback: status write done → HTTPRoute patch received %s; that patch in the API server %s\n", ms(b.rollbackReaction), ms(b.rollbackRoute))
	}
}

func bound(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
