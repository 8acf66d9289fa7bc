package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/serin-dev/serin/internal/alert"
	"github.com/serin-dev/serin/internal/controller"
	"github.com/serin-dev/serin/internal/egress"
	"github.com/serin-dev/serin/internal/router"
)

// defaultConcurrency is the number of canaries reconciled at once: with 4,
// a release of 100 canaries at once was detected at p99 9 s; with 32, 2.3 s
// (hack/scalebench, docs/scale.md).
const defaultConcurrency = 32

// The Kubernetes events' writers and how many writes may wait for them: at
// tens of milliseconds per write, 16 writers keep up with the events of
// 1,000 canaries stepping at once (docs/scale.md), and 10,000 queued events
// are a few MiB.
const (
	eventWriters = 16
	eventQueue   = 10000
)

// config is the operator's command line.
type config struct {
	metricsAddr      string
	probeAddr        string
	pprofAddr        string
	leaderElect      bool
	leaderElectionNS string
	meshProvider     string
	meshName         string
	metricsServer    string
	selectorLabels   string
	concurrency      int
	namespace        string
	eventWebhook     string
	configTracking   bool
	// includeLabelPrefix is Flagger's -include-label-prefix.
	includeLabelPrefix string
	// noCrossNamespaceRefs refuses templateRef and providerRef in other
	// namespaces (Flagger's flag of the same name).
	noCrossNamespaceRefs bool
	// egressDeny and egressAllow are the networks calls to tenant-supplied
	// addresses may not, and may, reach (comma-separated CIDRs); check
	// makes egress of them.
	egressDeny, egressAllow string
	egress                  *egress.Policy
	// kubeconfig and master, when set, replace controller-runtime's
	// kubeconfig discovery, as in Flagger.
	kubeconfig, master string
	// qps and burst override the client's rate limits when above zero.
	qps, burst int
	// stepTimeout bounds the webhook calls and metric queries of one
	// reconcile of one canary together.
	stepTimeout time.Duration
	// watchLabelSelector limits the operator to the canaries it selects
	// (Flux's --watch-label-selector); shard is it parsed.
	watchLabelSelector string
	shard              controller.Shard
	showVersion        bool
	zap                zap.Options
	// alerts are the global notifier flags.
	alerts alertFlags
	// notes are logged at start: Flagger flags that are accepted but
	// behave differently in Serin.
	notes []string
}

// unsupported are Flagger flags for features Serin does not have yet. A
// non-empty value is refused at start rather than ignored.
var unsupported = map[string]string{
	"ingress-annotations-prefix": "it configures the NGINX ingress provider, which Serin does not have (providers: " + strings.Join(router.Providers, ", ") + ")",
	"ingress-class":              "it configures ingress providers, which Serin does not have (providers: " + strings.Join(router.Providers, ", ") + ")",
	"kubeconfig-service-mesh":    "Serin writes routing objects to the cluster of -kubeconfig only",
}

// noEffect are Flagger flags Serin accepts and does not need; setting one
// logs why.
var noEffect = map[string]string{
	"control-loop-interval": "Serin reacts to changes at once and runs each analysis step at the canary's interval",
	"zap-replace-globals":   "Serin has no global zap logger",
}

// parseFlags reads the command line: Serin's flags and Flagger's names and
// spellings for the same settings (single or double dash, Go flag syntax).
func parseFlags(args []string, output io.Writer) (config, error) {
	c := config{}
	fs := flag.NewFlagSet("serin", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&c.metricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus metrics endpoint, which also serves /healthz and /readyz; 0 disables it.")
	fs.Func("port", "Port of /metrics, /healthz and /readyz (Flagger's flag; sets -metrics-bind-address to :PORT).", func(v string) error {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("%q is not a port number (1-65535)", v)
		}
		c.metricsAddr = ":" + v
		return nil
	})
	fs.StringVar(&c.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz probes; 0 disables this listener.")
	fs.StringVar(&c.pprofAddr, "pprof-bind-address", "", "Address of Go's /debug/pprof profiles (controller-runtime's option); empty or 0 serves none. Profiles show what the operator does; keep the address off the network.")
	fs.BoolVar(&c.leaderElect, "leader-elect", false, "Elect a leader so only one of several replicas acts.")
	fs.BoolVar(&c.leaderElect, "enable-leader-election", false, "Same as -leader-elect (Flagger's name).")
	fs.StringVar(&c.leaderElectionNS, "leader-election-namespace", "", "Namespace of the leader-election lease; the operator's own when empty.")
	fs.StringVar(&c.meshProvider, "mesh-provider", "kubernetes", "Provider of canaries without spec.provider: "+strings.Join(router.Providers, ", ")+".")
	fs.StringVar(&c.meshName, "mesh-name", "", "App Mesh mesh of v1beta1 objects when spec.service.meshName is empty.")
	fs.StringVar(&c.metricsServer, "metrics-server", "http://prometheus:9090", "Prometheus address for built-in metrics.")
	fs.StringVar(&c.selectorLabels, "selector-labels", "app,name,app.kubernetes.io/name", "Comma-separated selector labels; the first one present in the target's selector is used.")
	fs.IntVar(&c.concurrency, "concurrency", defaultConcurrency, "Canaries reconciled at once; a step mostly waits for the API server, webhooks and metric queries, so this is sized for waiting, not for CPUs; a canary whose webhooks hang holds one worker for at most -step-timeout (see docs/scale.md).")
	fs.IntVar(&c.concurrency, "threadiness", defaultConcurrency, "Same as -concurrency (Flagger's name).")
	fs.DurationVar(&c.stepTimeout, "step-timeout", controller.DefaultStepTimeout, "Most time the webhook calls and metric queries of one analysis step of a canary may take together; a webhook's own timeout applies within it.")
	fs.StringVar(&c.namespace, "namespace", "", "Only reconcile canaries in this namespace; all namespaces when empty.")
	fs.StringVar(&c.eventWebhook, "event-webhook", "", "URL that receives every canary event, in addition to the canaries' event webhooks.")
	fs.StringVar(&c.includeLabelPrefix, "include-label-prefix", "", "Comma-separated prefixes of the labels copied from the target (and its autoscaler and configs) to the primary copies; * copies all. GitOps ownership labels (Flux, Argo CD, Helm) are never copied.")
	fs.BoolVar(&c.noCrossNamespaceRefs, "no-cross-namespace-refs", false, "Refuse canaries whose metric templateRef or alert providerRef names another namespace (Flagger's flag).")
	fs.StringVar(&c.egressDeny, "egress-deny-cidrs", "", "Comma-separated CIDRs that webhooks and metrics servers may not reach, besides the link-local and cloud metadata addresses always denied ("+strings.TrimPrefix(egress.NewPolicy(nil, nil).String(), "deny ")+").")
	fs.StringVar(&c.egressAllow, "egress-allow-cidrs", "", "Comma-separated CIDRs exempt from the denied ones, e.g. 169.254.0.0/16 to allow link-local again.")
	fs.BoolVar(&c.configTracking, "enable-config-tracking", true, "Copy the ConfigMaps and Secrets the target uses to <name>-primary and start a release when they change.")
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; when empty, $KUBECONFIG, the in-cluster config or ~/.kube/config.")
	fs.StringVar(&c.master, "master", "", "API server address; overrides the kubeconfig's.")
	fs.IntVar(&c.qps, "kubeconfig-qps", 0, "Client requests per second to the API server; 0 leaves client-side rate limiting off (API priority and fairness applies).")
	fs.IntVar(&c.burst, "kubeconfig-burst", 0, "Client request burst to the API server; 0 keeps the client's default.")
	fs.StringVar(&c.watchLabelSelector, "watch-label-selector", "", "Only reconcile canaries whose labels match this selector, e.g. sharding.fluxcd.io/key=shard1 or !sharding.fluxcd.io/key; each selector elects its own leader (see docs/scale.md).")
	fs.BoolVar(&c.showVersion, "version", false, "Print the version and exit.")
	c.zap.BindFlags(fs)
	fs.Func("log-level", "Log level: debug, info, warn, error, panic or fatal (Flagger's flag; same as -zap-log-level).", func(v string) error {
		lvl, err := parseLevel(v)
		c.zap.Level = lvl
		return err
	})
	fs.Func("zap-encoding", "Log encoding: json or console (Flagger's flag; same as -zap-encoder).", func(v string) error {
		return fs.Lookup("zap-encoder").Value.Set(v)
	})
	for name, why := range unsupported {
		fs.String(name, "", "Flagger's flag; refused when set: "+why+".")
	}
	fs.StringVar(&c.alerts.slackURL, "slack-url", "", "Slack incoming-webhook URL that receives the alerts of canaries without analysis.alerts (Flagger's global notifier).")
	fs.StringVar(&c.alerts.slackToken, "slack-token", "", "Bearer token sent with each -slack-url alert.")
	fs.StringVar(&c.alerts.slackProxy, "slack-proxy-url", "", "HTTP proxy for the -slack-url alerts.")
	fs.StringVar(&c.alerts.slackChannel, "slack-channel", alert.DefaultChannel, "Slack channel of the -slack-url alerts.")
	fs.StringVar(&c.alerts.slackUser, "slack-user", alert.DefaultUsername, "Sender name of the -slack-url alerts.")
	fs.StringVar(&c.alerts.teamsURL, "msteams-url", "", "Microsoft Teams incoming-webhook URL that receives the alerts of canaries without analysis.alerts (with -slack-url, both do).")
	fs.StringVar(&c.alerts.teamsProxy, "msteams-proxy-url", "", "HTTP proxy for the -msteams-url alerts.")
	fs.StringVar(&c.alerts.cluster, "cluster-name", "", "Cluster name shown in every alert.")
	fs.Duration("control-loop-interval", 0, "Flagger's flag; no effect: "+noEffect["control-loop-interval"]+".")
	fs.Bool("zap-replace-globals", false, "Flagger's flag; no effect: "+noEffect["zap-replace-globals"]+".")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q: serin takes only flags", fs.Arg(0))
	}
	return c, c.check(fs)
}

// check refuses flags of features Serin lacks and values it cannot honour,
// and collects the notes about flags that have no effect.
func (c *config) check(fs *flag.FlagSet) error {
	var errs []error
	fs.Visit(func(f *flag.Flag) {
		if why, ok := unsupported[f.Name]; ok && f.Value.String() != "" {
			errs = append(errs, fmt.Errorf("-%s is not supported: %s", f.Name, why))
		}
		if why, ok := noEffect[f.Name]; ok {
			c.notes = append(c.notes, fmt.Sprintf("-%s has no effect: %s", f.Name, why))
		}
	})
	if !c.showVersion && !router.Supported(c.meshProvider) {
		errs = append(errs, fmt.Errorf("-mesh-provider: %w", &router.UnknownProviderError{Provider: c.meshProvider}))
	}
	if c.concurrency < 1 {
		errs = append(errs, fmt.Errorf("-concurrency (-threadiness) must be at least 1, not %d", c.concurrency))
	}
	deny, denyErr := egress.ParsePrefixes(c.egressDeny)
	allow, allowErr := egress.ParsePrefixes(c.egressAllow)
	switch {
	case denyErr != nil:
		errs = append(errs, fmt.Errorf("-egress-deny-cidrs: %w", denyErr))
	case allowErr != nil:
		errs = append(errs, fmt.Errorf("-egress-allow-cidrs: %w", allowErr))
	default:
		c.egress = egress.NewPolicy(deny, allow)
	}
	if c.stepTimeout <= 0 {
		errs = append(errs, fmt.Errorf("-step-timeout must be positive, not %s", c.stepTimeout))
	}
	if shard, err := controller.ParseShard(c.watchLabelSelector); err != nil {
		errs = append(errs, fmt.Errorf("-watch-label-selector: %w", err))
	} else {
		c.shard = shard
	}
	errs = append(errs, c.alerts.check()...)
	if c.qps < 0 || c.burst < 0 {
		errs = append(errs, fmt.Errorf("-kubeconfig-qps and -kubeconfig-burst must not be negative (got %d and %d)", c.qps, c.burst))
	}
	return errors.Join(errs...)
}

// parseLevel reads Flagger's log levels; "warning" is taken for "warn".
func parseLevel(v string) (zapcore.Level, error) {
	if strings.EqualFold(v, "warning") {
		v = "warn"
	}
	lvl, err := zapcore.ParseLevel(strings.ToLower(v))
	if err != nil || lvl == zapcore.DPanicLevel {
		return zapcore.InfoLevel, fmt.Errorf("unknown level %q: use debug, info, warn, error, panic or fatal", v)
	}
	return lvl, nil
}

// alertFlags are Flagger's global notifier flags.
type alertFlags struct {
	slackURL, slackToken, slackProxy, slackChannel, slackUser string
	teamsURL, teamsProxy                                      string
	cluster                                                   string
}

// check refuses addresses that are no absolute http(s) URL, naming the flag.
func (a alertFlags) check() []error {
	var errs []error
	for _, f := range []struct{ name, value string }{
		{"slack-url", a.slackURL}, {"slack-proxy-url", a.slackProxy}, {"msteams-url", a.teamsURL}, {"msteams-proxy-url", a.teamsProxy},
	} {
		if u, err := url.Parse(f.value); f.value != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			errs = append(errs, fmt.Errorf("-%s must be an absolute http or https URL", f.name))
		}
	}
	if a.slackURL == "" && (a.slackToken != "" || a.slackProxy != "") {
		errs = append(errs, errors.New("-slack-token and -slack-proxy-url need -slack-url"))
	}
	if a.teamsURL == "" && a.teamsProxy != "" {
		errs = append(errs, errors.New("-msteams-proxy-url needs -msteams-url"))
	}
	return errs
}

// targets are the global alert targets the flags name.
func (a alertFlags) targets() []alert.Target {
	var out []alert.Target
	if a.slackURL != "" {
		out = append(out, alert.Target{Provider: "-slack-url", Type: alert.TypeSlack, Address: a.slackURL, Token: a.slackToken,
			Proxy: a.slackProxy, Channel: a.slackChannel, Username: a.slackUser})
	}
	if a.teamsURL != "" {
		out = append(out, alert.Target{Provider: "-msteams-url", Type: alert.TypeMSTeams, Address: a.teamsURL, Proxy: a.teamsProxy})
	}
	return out
}
