package seed

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/demo"
)

// maxShareDeviation is how far, in percentage points, the share of
// load-test requests that reached canary pods may be from the weight.
const maxShareDeviation = 2.0

// minStepRequests is the fewest load-test requests a step must carry for
// its share to mean anything.
const minStepRequests = 20

// Play runs the seed with one provider, checks both releases and returns
// the scenario for further checks.
func Play(t *testing.T, provider string) *demo.Scenario {
	ctx := context.Background()
	sc := &demo.Scenario{Stack: stack, Provider: provider, Namespace: Namespace(provider), Timings: demo.FastTimings}
	if err := sc.Bootstrap(ctx); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	t.Cleanup(sc.Operator.Kill)
	if _, err := sc.WaitPhase(ctx, flaggerv1.CanaryPhaseInitialized, time.Minute); err != nil {
		t.Fatalf("initialization: %v", err)
	}
	// serin replay finds a release's start in a scrape of the idle canary
	// before it; a release that begins before Prometheus's first scrape of
	// the canary is, rightly, taken as one already under way.
	idle := fmt.Sprintf(`flagger_canary_status{namespace=%q,name="podinfo"} == 1`, sc.Namespace)
	if err := sc.Stack.Prometheus.WaitForResult(ctx, idle, time.Minute); err != nil {
		t.Fatalf("the initialized canary in Prometheus: %v", err)
	}
	good, err := sc.Promote(ctx, nil)
	logOutcome(t, sc, good)
	if err != nil {
		t.Fatalf("promotion of %s: %v", demo.TagGood, err)
	}
	checkPromotion(t, sc, good)
	bad, err := sc.Rollback(ctx, nil, nil)
	logOutcome(t, sc, bad)
	if err != nil {
		t.Fatalf("rollback of %s: %v", demo.TagFaulty, err)
	}
	checkRollback(t, sc, bad)
	if lines := sc.Operator.ErrorLines(); len(lines) > 0 {
		t.Errorf("the operator logged errors:\n%s", strings.Join(lines, "\n"))
	}
	return sc
}

// checkPromotion: weights 5 … 50 on the routing object, each carried by
// the emulator within maxShareDeviation, and the release settled on the
// new version.
func checkPromotion(t *testing.T, sc *demo.Scenario, o demo.Outcome) {
	t.Helper()
	want := []int{0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 0}
	if !slices.Equal(o.CanaryWeights, want) {
		t.Errorf("canary weights on the %s: %v, want %v", sc.RoutingKind(), o.CanaryWeights, want)
	}
	for _, s := range o.Steps {
		w := s.Weights.Canary
		if s.Traffic.Total() < minStepRequests {
			if w > 0 {
				t.Errorf("weight %d: only %d load-test requests reached the pods", w, s.Traffic.Total())
			}
			continue
		}
		if d := s.Traffic.CanaryPercent() - float64(w); math.Abs(d) > maxShareDeviation {
			t.Errorf("weight %d: %.1f%% of %d load-test requests reached canary pods (%+.1f pp)", w, s.Traffic.CanaryPercent(), s.Traffic.Total(), d)
		}
	}
	checkFinal(t, o, demo.TagGood)
	if o.Phase != flaggerv1.CanaryPhaseSucceeded {
		t.Errorf("phase %s, want Succeeded", o.Phase)
	}
}

// checkRollback: the seed's message sequence, then all traffic back on the
// primary, which still runs the last good version, and none on the canary.
func checkRollback(t *testing.T, sc *demo.Scenario, o demo.Outcome) {
	t.Helper()
	if err := demo.CheckRollbackSequence(sc.Namespace, sc.Provider, o.Messages); err != nil {
		t.Errorf("operator messages of the faulty release: %v\n%s", err, texts(o.Messages))
	}
	checkFinal(t, o, demo.TagGood)
	if o.Phase != flaggerv1.CanaryPhaseFailed {
		t.Errorf("phase %s, want Failed", o.Phase)
	}
	if o.CanaryRequestsAfter != 0 {
		t.Errorf("%d requests reached canary pods after the rollback", o.CanaryRequestsAfter)
	}
}

func checkFinal(t *testing.T, o demo.Outcome, tag string) {
	t.Helper()
	f := o.Final
	if f.PrimaryImage != demo.Image+":"+tag || f.CanaryReplicas != 0 || f.Routes != (demo.Weights{Primary: 100}) || f.Version != tag {
		t.Errorf("after %s: primary image %s, canary replicas %d, routes %s, /version %q; want %s:%s, 0, 100/0, %q",
			o.Tag, f.PrimaryImage, f.CanaryReplicas, f.Routes, f.Version, demo.Image, tag, tag)
	}
}

// logOutcome records the measurements in the test log (go test -v).
func logOutcome(t *testing.T, sc *demo.Scenario, o demo.Outcome) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "podinfo %s with %s: %s after %.1fs, %s weights %v\n", o.Tag, sc.Provider, o.Phase, o.Duration.Seconds(), sc.RoutingKind(), o.CanaryWeights)
	for _, s := range o.Steps {
		fmt.Fprintf(&b, "  weight %2d for %4.1fs: %4d requests, %3d on canary pods = %5.1f%% (%+.1f pp)\n", s.Weights.Canary,
			s.End.Sub(s.Start).Seconds(), s.Traffic.Total(), s.Traffic.Canary, s.Traffic.CanaryPercent(), s.Traffic.CanaryPercent()-float64(s.Weights.Canary))
	}
	b.WriteString(texts(o.Messages))
	t.Log(b.String())
}

// checkMeasuredSeries: the queries Prometheus ran for the scenario's
// namespace (its query log) read each of the want series, and none read
// notWant.
func checkMeasuredSeries(t *testing.T, sc *demo.Scenario, want []string, notWant string) {
	t.Helper()
	queries, err := sc.Stack.Prometheus.Queries()
	if err != nil {
		t.Fatal(err)
	}
	selector := fmt.Sprintf("kubernetes_namespace=%q", sc.Namespace)
	var ours []string
	for _, q := range queries {
		if strings.Contains(q, selector) {
			ours = append(ours, q)
		}
	}
	for _, w := range want {
		if !slices.ContainsFunc(ours, func(q string) bool { return strings.Contains(q, w) }) {
			t.Errorf("no query for %s read %s; the %d queries with %s:\n%s", sc.Namespace, w, len(ours), selector, strings.Join(ours, "\n"))
		}
	}
	for _, q := range ours {
		if strings.Contains(q, notWant) {
			t.Errorf("a query for %s read %s: %s", sc.Namespace, notWant, q)
		}
	}
}

func texts(ms []demo.Message) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "  | %s\n", m.Text)
	}
	return b.String()
}
