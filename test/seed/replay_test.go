package seed

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/demo"
	"github.com/serin-dev/serin/test/framework"
)

// decisionPrefixes start the messages of an analysis step's decisions: what
// the replay must take as the operator did.
var decisionPrefixes = []string{"Starting canary analysis", "Advance", "Halt", "Rolling back", "Copying", "Canary failed!"}

// checkReplay runs `serin replay` over the window of a seed run that
// started at from. Reading the live steps from the operator's
// flagger_canary_weight and the metrics from the same Prometheus, it must
// take the operator's decisions in the operator's order, without a
// divergence.
func checkReplay(t *testing.T, sc *demo.Scenario, from time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The rollback's weight and status must be scraped before the window
	// ends.
	failed := fmt.Sprintf(`flagger_canary_status{namespace=%q,name="podinfo"} == 2`, sc.Namespace)
	framework.Eventually(t, time.Minute, "the operator's Failed status in Prometheus", func(ctx context.Context) (bool, string) {
		return stack.Prometheus.HasResult(ctx, failed)
	})
	to := time.Now().Add(time.Second)
	manifest := canaryFile(t, ctx, sc)
	out, err := exec.CommandContext(ctx, stack.Bins.Serin, "replay", "-f", manifest, "--prometheus", stack.Prometheus.URL,
		"--from", from.UTC().Format(time.RFC3339), "--to", to.UTC().Format(time.RFC3339), "--mesh-provider", sc.Provider).CombinedOutput()
	t.Logf("serin replay:\n%s", out)
	if err != nil {
		t.Fatalf("serin replay: %v", err)
	}
	var live []string
	for _, m := range demo.Messages(sc.Operator, "podinfo."+sc.Namespace) {
		live = append(live, m.Text)
	}
	want, got := decisions(live), decisions(replayed(string(out)))
	// Two releases: 5 … 50 and a promotion, then at least 5, 10, five
	// halts and a rollback.
	if len(want) < 20 || !slices.Equal(got, want) {
		t.Errorf("replayed decisions:\n  %s\nlive decisions:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if strings.Contains(string(out), "what-if") {
		t.Error("the replay marks a divergence from the operator's decisions")
	}
}

// canaryFile writes the scenario's Canary as the cluster holds it.
func canaryFile(t *testing.T, ctx context.Context, sc *demo.Scenario) string {
	t.Helper()
	c, err := sc.Canary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.TypeMeta.APIVersion, c.TypeMeta.Kind = flaggerv1.GroupVersion.String(), "Canary"
	c.ManagedFields = nil
	data, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "canary.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// replayed returns the decisions `serin replay` printed: its lines
// indented four spaces.
func replayed(out string) []string {
	var msgs []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "    ") && !strings.HasPrefix(l, "     ") {
			msgs = append(msgs, strings.TrimSpace(l))
		}
	}
	return msgs
}

// haltReason is what a halt message says after "advancement": which check
// failed first. At the edge of a fault it can differ between the operator
// and the replay (docs/judge.md, "Step times": a scrape under way when the
// operator asked is stamped before the step), so a halt is compared as a
// halt of that canary.
var haltReason = regexp.MustCompile(`advancement .*`)

// decisions keeps the analysis decisions, halts without their reasons.
func decisions(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		for _, p := range decisionPrefixes {
			if strings.HasPrefix(m, p) {
				if p == "Halt" {
					m = haltReason.ReplaceAllString(m, "advancement")
				}
				out = append(out, m)
				break
			}
		}
	}
	return out
}
