package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/metrics"
)

// recordedPrometheus answers instant queries as a Prometheus that recorded
// successRate(t) for the canary's success rate and 100 ms for its p99, and
// keeps the evaluation times it was asked for.
type recordedPrometheus struct {
	successRate func(t time.Time) float64
	mu          sync.Mutex
	asked       []time.Time
}

func (p *recordedPrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secs, err := strconv.ParseFloat(r.FormValue("time"), 64)
	if err != nil {
		http.Error(w, "no time", http.StatusBadRequest)
		return
	}
	at := time.Unix(0, int64(secs*1e9)).UTC()
	p.mu.Lock()
	p.asked = append(p.asked, at)
	p.mu.Unlock()
	value := p.successRate(at)
	if strings.Contains(r.FormValue("query"), "histogram_quantile") {
		value = 100
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{
		"resultType": "vector", "result": []any{map[string]any{"metric": map[string]string{}, "value": []any{secs, strconv.FormatFloat(value, 'f', -1, 64)}}},
	}})
}

// seedCanary is the seed's canary: built-in success rate (min 99) and
// duration (max 500 ms), step 5, threshold 2, every 2 s.
func seedCanary(address string) *flaggerv1.Canary {
	return &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test"},
		Spec: flaggerv1.CanarySpec{
			Provider: "appmesh:v1beta2", MetricsServer: address,
			TargetRef: flaggerv1.TargetReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "podinfo"},
			Service:   flaggerv1.CanaryService{Port: 9898},
			Analysis: &flaggerv1.CanaryAnalysis{Interval: "2s", StepWeight: 5, MaxWeight: 50, Threshold: 2, Metrics: []flaggerv1.CanaryMetric{
				{Name: "request-success-rate", ThresholdRange: &flaggerv1.CanaryThresholdRange{Min: ptr.To(99.0)}, Interval: "10s"},
				{Name: "request-duration", ThresholdRange: &flaggerv1.CanaryThresholdRange{Max: ptr.To(500.0)}, Interval: "10s"},
			}},
		},
	}
}

// replayLive replays liveRelease against prom and returns the results and
// the printed output.
func replayLive(t *testing.T, prom *recordedPrometheus) ([]Result, *bytes.Buffer) {
	t.Helper()
	srv := httptest.NewServer(prom)
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	r := &Replayer{Canary: seedCanary(srv.URL), Provider: "appmesh:v1beta2", Checker: &metrics.Checker{Reader: TemplateReader(nil)}, Out: &out}
	results, err := r.Run(context.Background(), []Release{liveRelease()})
	if err != nil {
		t.Fatal(err)
	}
	return results, &out
}

// liveRelease is what the operator did: 5, 10, a halt at 10, rolled back.
func liveRelease() Release {
	return Release{Outcome: RolledBack, Steps: []Step{
		{Time: t0, LiveWeight: 5}, {Time: t0.Add(2 * time.Second), LiveWeight: 10},
		{Time: t0.Add(4100 * time.Millisecond), LiveWeight: 10}, {Time: t0.Add(5900 * time.Millisecond), LiveWeight: 0, End: true},
	}}
}

func TestReplayAsksPrometheusAsOfEachStepAndTakesTheLiveDecisions(t *testing.T) {
	// The errors start after the advance to 10.
	prom := &recordedPrometheus{successRate: func(at time.Time) float64 {
		if at.After(t0.Add(3 * time.Second)) {
			return 69.17
		}
		return 100
	}}
	results, out := replayLive(t, prom)
	want := []string{
		"Starting canary analysis for podinfo.test",
		"Advance podinfo.test canary weight 5",
		"Advance podinfo.test canary weight 10",
		"Halt podinfo.test advancement success rate 69.17% < 99%",
		"Halt podinfo.test advancement success rate 69.17% < 99%",
		"Rolling back podinfo.test failed checks threshold reached 2",
		"Canary failed! Scaling down podinfo.test",
	}
	got := results[0]
	if !slices.Equal(got.Decisions, want) || got.Outcome != RolledBack || got.Diverged != -1 {
		t.Errorf("decisions %q outcome %s diverged at %d; want %q, rolled back, no divergence\n%s", got.Decisions, got.Outcome, got.Diverged, want, out.String())
	}
	// Two metrics a step, each asked as of the step's time.
	var wantAsked []time.Time
	for _, s := range liveRelease().Steps {
		wantAsked = append(wantAsked, s.Time, s.Time)
	}
	slices.SortFunc(prom.asked, func(a, b time.Time) int { return a.Compare(b) })
	if !slices.EqualFunc(prom.asked, wantAsked, func(a, b time.Time) bool { return a.Sub(b).Abs() < time.Millisecond }) {
		t.Errorf("queries evaluated at %v, want the step times %v", prom.asked, wantAsked)
	}
	if strings.Contains(out.String(), "what-if") {
		t.Errorf("a replay that took the live decisions is labelled what-if:\n%s", out.String())
	}
}

func TestReplayMarksTheFirstDivergenceAndLabelsTheRestWhatIf(t *testing.T) {
	// Under a looser policy the same release would have gone on.
	prom := &recordedPrometheus{successRate: func(time.Time) float64 { return 100 }}
	results, out := replayLive(t, prom)
	if got := results[0]; got.Diverged != 2 || got.Outcome != Unfinished {
		t.Errorf("diverged at step %d, outcome %s; want step 2 (advance to 15 where the operator halted), unfinished\n%s", got.Diverged, got.Outcome, out.String())
	}
	lines := strings.Split(out.String(), "\n")
	var labels []string
	for _, l := range lines {
		if strings.Contains(l, "live weight") {
			_, label, _ := strings.Cut(l, "replay weight")
			labels = append(labels, strings.TrimSpace(strings.TrimLeft(label, " 0123456789")))
		}
	}
	want := []string{"", "", "<- first divergence: what-if from here", "(what-if)"}
	if !slices.Equal(labels, want) {
		t.Errorf("labels %q, want %q\n%s", labels, want, out.String())
	}
}

func TestReplayRefusesMoreStepsThanItsBound(t *testing.T) {
	steps := make([]Step, MaxSteps+1)
	r := &Replayer{Canary: seedCanary(""), Checker: &metrics.Checker{}, Out: &bytes.Buffer{}}
	if _, err := r.Run(context.Background(), []Release{{Steps: steps}}); err == nil || !strings.Contains(err.Error(), "--from/--to") {
		t.Errorf("error %v, want one naming --from/--to", err)
	}
}
