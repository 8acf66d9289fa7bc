package seed

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/demo"
)

// judgeTimings: a step every 3 s, threshold metrics over 3 s, and the load
// test's rate replaced by lowTraffic.
var judgeTimings = demo.Timings{Interval: "3s", MetricInterval: "3s", LoadQPS: 1}

// The statistical judge end to end, through the emulator and the real
// Prometheus, on the seed's Canary with App Mesh v1beta2:
//
//  1. At one request a second a healthy canary gets a request every 20 s
//     at weight 5: fixed thresholds see no values, count failed checks and
//     roll it back.
//  2. The same canary under the judge: its comparisons with the primary
//     are inconclusive, the weight is held for judge.inconclusive.maxSteps
//     steps, then the policy (promote) lets it advance to promotion.
//  3. The seed's faulty 3.0.2 (hey against the canary's /status/500 and
//     /delay/1) is rolled back by the judge at once, without failed checks,
//     and the verdict's numbers are in status.lastAnalysis.
func TestTheJudgePromotesALowTrafficCanaryThatThresholdsRollBackAndRollsBackTheFaultyOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sc := &demo.Scenario{Stack: stack, Provider: "appmesh:v1beta2", Namespace: "judge-appmesh-v1beta2", Timings: judgeTimings}
	if err := sc.Bootstrap(ctx); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	t.Cleanup(sc.Operator.Kill)
	if _, err := sc.WaitPhase(ctx, flaggerv1.CanaryPhaseInitialized, time.Minute); err != nil {
		t.Fatalf("initialization: %v", err)
	}
	lowTraffic := fmt.Sprintf("hey -z 10m -q 1 -c 1 -host %s:9898 %s/", sc.Host(), sc.Stack.EmulatorURL)
	updateAnalysis(t, sc, func(a *flaggerv1.CanaryAnalysis) { a.Webhooks[0].Metadata = &map[string]string{"cmd": lowTraffic} })

	thresholds, err := sc.Release(ctx, "3.1.1", flaggerv1.CanaryPhaseFailed, nil)
	logOutcome(t, sc, thresholds)
	if err != nil {
		t.Fatalf("fixed thresholds at low traffic: %v", err)
	}
	wantMessages(t, thresholds, "Halt advancement no values found for appmesh:v1beta2 metric request-success-rate",
		"Rolling back podinfo.judge-appmesh-v1beta2 failed checks threshold reached 5")

	updateAnalysis(t, sc, judged(3))
	promoted, err := sc.Release(ctx, "3.1.2", flaggerv1.CanaryPhaseSucceeded, nil)
	logOutcome(t, sc, promoted)
	if err != nil {
		t.Fatalf("the judge at low traffic: %v", err)
	}
	wantMessages(t, promoted, "Hold podinfo.judge-appmesh-v1beta2 advancement request-success-rate inconclusive after",
		"Judge still inconclusive for podinfo.judge-appmesh-v1beta2 after 4 steps (judge.inconclusive.maxSteps is 3, then is promote): the canary advances",
		"Advance podinfo.judge-appmesh-v1beta2 canary weight 50")
	refuseMessages(t, promoted, "Halt", "Rolling back")
	checkFinal(t, promoted, "3.1.2")

	faulty, err := sc.Release(ctx, demo.TagFaulty, flaggerv1.CanaryPhaseFailed, func(ctx context.Context) error {
		if err := sc.WaitCanary(ctx, "canary weight", func(c *flaggerv1.Canary) bool { return c.Status.CanaryWeight >= demo.FaultWeight }); err != nil {
			return err
		}
		for _, path := range []string{"/status/500", "/delay/1"} {
			if err := sc.InjectFault(ctx, sc.FaultCommand(path)); err != nil {
				return err
			}
		}
		return nil
	})
	logOutcome(t, sc, faulty)
	if err != nil {
		t.Fatalf("the judge and the faulty release: %v", err)
	}
	wantMessages(t, faulty, "Rolling back podinfo.judge-appmesh-v1beta2 the canary is worse than the primary: ",
		"Canary failed! Scaling down podinfo.judge-appmesh-v1beta2")
	checkFinal(t, faulty, "3.1.2")
	checkJudgedRollback(t, sc)
}

// judged turns the judge on for the built-in metrics, instead of their
// thresholds: errors within +0.5pp of the primary's, latency within 50%
// (the emulator's sub-millisecond latencies vary with the machine's load).
func judged(maxSteps int) func(*flaggerv1.CanaryAnalysis) {
	return func(a *flaggerv1.CanaryAnalysis) {
		a.Judge = &flaggerv1.CanaryJudge{Confidence: 99, Inconclusive: flaggerv1.JudgeInconclusivePolicy{MaxSteps: maxSteps, Then: flaggerv1.JudgeThenPromote}}
		a.Metrics = []flaggerv1.CanaryMetric{
			{Name: "request-success-rate", Compare: &flaggerv1.MetricComparison{AllowedDegradation: "+0.5pp"}},
			{Name: "request-duration", Compare: &flaggerv1.MetricComparison{AllowedDegradation: "+50%"}},
		}
	}
}

// updateAnalysis changes the Canary's analysis.
func updateAnalysis(t *testing.T, sc *demo.Scenario, change func(*flaggerv1.CanaryAnalysis)) {
	t.Helper()
	c, err := sc.Canary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	change(c.GetAnalysis())
	if err := sc.Stack.Client.Update(context.Background(), c); err != nil {
		t.Fatalf("update the canary's analysis: %v", err)
	}
}

// checkJudgedRollback: the judge, not failed checks, rolled the canary
// back, and status.lastAnalysis explains it in numbers.
func checkJudgedRollback(t *testing.T, sc *demo.Scenario) {
	t.Helper()
	c, err := sc.Canary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.Status.FailedChecks != 0 {
		t.Errorf("failed checks %d, want 0: the judge's failure is conclusive at once", c.Status.FailedChecks)
	}
	if c.Status.Judge == nil || c.Status.Judge.Looks == 0 {
		t.Errorf("status.judge %+v, want the evidence of the release", c.Status.Judge)
	}
	la := c.Status.LastAnalysis
	if la == nil {
		t.Fatal("no lastAnalysis")
	}
	failed := 0
	for _, ch := range la.Checks {
		if ch.Kind != "comparison" {
			continue
		}
		t.Logf("%s: canary %s primary %s effect %s [%s, %s] allowed %s after %s canary requests: %s",
			ch.Name, ch.Canary, ch.Primary, ch.Effect, ch.Lower, ch.Upper, ch.Allowed, ch.CanaryRequests, ch.Verdict)
		if ch.Canary == "" || ch.Primary == "" || ch.Effect == "" || ch.Lower == "" || ch.Upper == "" || ch.Allowed == "" || ch.CanaryRequests == "" {
			t.Errorf("comparison %+v lacks its numbers", ch)
		}
		if ch.Verdict == "Fail" {
			failed++
		}
	}
	if failed == 0 {
		t.Errorf("lastAnalysis %+v, want a comparison with the verdict Fail", la)
	}
	if !strings.HasPrefix(la.Decision, "Rolling back ") {
		t.Errorf("decision %q, want the rollback", la.Decision)
	}
}

// wantMessages checks that the release's messages include each text.
func wantMessages(t *testing.T, o demo.Outcome, want ...string) {
	t.Helper()
	all := texts(o.Messages)
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("the operator did not say %q; it said:\n%s", w, all)
		}
	}
}

// refuseMessages checks that no message of the release starts with one of
// the prefixes.
func refuseMessages(t *testing.T, o demo.Outcome, prefixes ...string) {
	t.Helper()
	for _, m := range o.Messages {
		for _, p := range prefixes {
			if strings.HasPrefix(m.Text, p) {
				t.Errorf("the operator said %q", m.Text)
			}
		}
	}
}
