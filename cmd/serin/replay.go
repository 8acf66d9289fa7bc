package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/serin-dev/serin/internal/egress"
	"github.com/serin-dev/serin/internal/metrics"
	"github.com/serin-dev/serin/internal/replay"
	"github.com/serin-dev/serin/internal/router"
)

// maxReplayWindow bounds --from/--to.
const maxReplayWindow = 7 * 24 * time.Hour

// maxLiveReply bounds a reply of raw samples: a week of 1 s scrapes.
const maxLiveReply = 64 << 20

// replayCommand is the first argument that selects `serin replay`; the
// operator's own flags all start with a dash, so it never hides one.
const replayCommand = "replay"

// selectsReplay reports whether a command line is `serin replay …`; any
// other is the operator's.
func selectsReplay(args []string) bool { return len(args) > 0 && args[0] == replayCommand }

// replayConfig is the command line of `serin replay`.
type replayConfig struct {
	files        []string
	prometheus   string
	from, to     time.Time
	policy       replay.Policy
	meshProvider string
	timeout      time.Duration
}

func parseReplayFlags(args []string, output io.Writer) (replayConfig, error) {
	var c replayConfig
	var judgeFlag, thresholdsFlag bool
	fs := flag.NewFlagSet("serin replay", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Func("f", "File with the Canary and the MetricTemplates it references (repeatable).", func(v string) error {
		c.files = append(c.files, v)
		return nil
	})
	fs.StringVar(&c.prometheus, "prometheus", "", "Prometheus holding the recorded series, e.g. http://localhost:9090; every query goes there.")
	fs.Func("from", "Start of the window (RFC 3339).", timeFlag(&c.from))
	fs.Func("to", "End of the window (RFC 3339).", timeFlag(&c.to))
	fs.BoolVar(&judgeFlag, "judge", false, "Judge with the statistical judge (the manifest's settings, else the defaults of docs/judge.md).")
	fs.BoolVar(&thresholdsFlag, "thresholds", false, "Judge with fixed thresholds only (compared built-in metrics fall back to 99% and 500ms).")
	fs.StringVar(&c.meshProvider, "mesh-provider", "kubernetes", "Provider of a Canary without spec.provider, as the operator's -mesh-provider: "+strings.Join(router.Providers, ", ")+".")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "Bound on the whole replay.")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if len(c.files) == 0 {
		errs = append(errs, errors.New("-f: give the Canary's file"))
	}
	if c.prometheus == "" {
		errs = append(errs, errors.New("--prometheus: give the Prometheus address"))
	}
	switch {
	case c.from.IsZero() || c.to.IsZero():
		errs = append(errs, errors.New("--from and --to are required"))
	case !c.to.After(c.from):
		errs = append(errs, fmt.Errorf("--to %s is not after --from %s", c.to.Format(time.RFC3339), c.from.Format(time.RFC3339)))
	case c.to.Sub(c.from) > maxReplayWindow:
		errs = append(errs, fmt.Errorf("--from/--to span %s; at most %s", c.to.Sub(c.from), maxReplayWindow))
	}
	switch {
	case judgeFlag && thresholdsFlag:
		errs = append(errs, errors.New("--judge and --thresholds exclude each other"))
	case judgeFlag:
		c.policy = replay.Judge
	case thresholdsFlag:
		c.policy = replay.Thresholds
	}
	if !router.Supported(c.meshProvider) {
		errs = append(errs, fmt.Errorf("--mesh-provider: %w", &router.UnknownProviderError{Provider: c.meshProvider}))
	}
	return c, errors.Join(errs...)
}

func timeFlag(t *time.Time) func(string) error {
	return func(v string) error {
		parsed, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fmt.Errorf("%q is not an RFC 3339 time such as 2026-11-25T18:50:00Z", v)
		}
		*t = parsed
		return nil
	}
}

// runReplay is `serin replay`: the canary's analysis over its recorded
// releases. Every query goes to the --prometheus the user names, so the
// operator's egress guard for tenant-written addresses does not apply:
// template addresses and credentials are replaced by it.
func runReplay(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseReplayFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "serin replay: %v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	if err := replayWith(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "serin replay: %v\n", err)
		return 1
	}
	return 0
}

func replayWith(ctx context.Context, cfg replayConfig, stdout io.Writer) error {
	files := map[string]io.Reader{}
	for _, name := range cfg.files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		files[name] = f
	}
	m, err := replay.Load(files)
	if err != nil {
		return err
	}
	canary, err := replay.Apply(m.Canary, cfg.policy)
	if err != nil {
		return err
	}
	anywhere := egress.NewPolicy(nil, []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")})
	canary.Spec.MetricsServer = cfg.prometheus
	for i := range m.Templates {
		m.Templates[i].Spec.Provider.Address, m.Templates[i].Spec.Provider.SecretRef = "", nil
	}
	hc := &http.Client{Transport: egress.CapReplies(anywhere.Transport(), maxLiveReply), CheckRedirect: egress.RefuseRedirects}
	live, err := replay.LiveSeries(ctx, hc, cfg.prometheus, canary, cfg.from, cfg.to)
	if err != nil {
		return err
	}
	releases, err := live.Releases(canary.GetInterval(), cfg.to)
	if err != nil {
		return err
	}
	if len(live.AnalysisTimes) == 0 {
		fmt.Fprintln(stdout, "No serin_canary_last_analysis_timestamp_seconds in the window: step times are inferred from flagger_canary_weight's changes")
	}
	provider := canary.GetProvider(cfg.meshProvider)
	fmt.Fprintf(stdout, "Replaying %s (provider %s, interval %s, policy %s) over %s .. %s: %d releases; webhooks are taken as passed\n",
		canary, provider, canary.GetInterval(), policyName(cfg.policy), cfg.from.UTC().Format(time.RFC3339), cfg.to.UTC().Format(time.RFC3339), len(releases))
	r := &replay.Replayer{Canary: canary, Provider: provider, Out: stdout,
		Checker: &metrics.Checker{Reader: replay.TemplateReader(m.Templates), Egress: anywhere}}
	_, err = r.Run(ctx, releases)
	return err
}

func policyName(p replay.Policy) string {
	if p == replay.AsWritten {
		return "as written"
	}
	return string(p)
}
