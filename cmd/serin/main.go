// Command serin is the progressive-delivery operator: a controller-runtime
// manager running the Canary reconciler.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/controller"
	"github.com/serin-dev/serin/internal/metrics"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/internal/router/appmesh"
	appmeshv1beta1 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta1"
	appmeshv1beta2 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
	"github.com/serin-dev/serin/internal/router/gatewayapi"
	"github.com/serin-dev/serin/internal/router/kubernetes"
	"github.com/serin-dev/serin/internal/telemetry"
	"github.com/serin-dev/serin/internal/webhook"
)

// config is the operator's command line.
type config struct {
	metricsAddr      string
	probeAddr        string
	leaderElect      bool
	leaderElectionNS string
	meshProvider     string
	meshName         string
	metricsServer    string
	selectorLabels   string
	concurrency      int
	namespace        string
	eventWebhook     string
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func parseFlags(args []string) (config, zap.Options) {
	var c config
	fs := flag.NewFlagSet("serin", flag.ExitOnError)
	fs.StringVar(&c.metricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus metrics endpoint; 0 disables it.")
	fs.StringVar(&c.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz probes.")
	fs.BoolVar(&c.leaderElect, "leader-elect", false, "Elect a leader so only one of several replicas acts.")
	fs.StringVar(&c.leaderElectionNS, "leader-election-namespace", "", "Namespace of the leader-election lease; the operator's own when empty.")
	fs.StringVar(&c.meshProvider, "mesh-provider", "kubernetes", "Provider of canaries without spec.provider: kubernetes, appmesh, appmesh:v1beta2 or gatewayapi:v1.")
	fs.StringVar(&c.meshName, "mesh-name", "", "App Mesh mesh of v1beta1 objects when spec.service.meshName is empty.")
	fs.StringVar(&c.metricsServer, "metrics-server", "http://prometheus:9090", "Prometheus address for built-in metrics.")
	fs.StringVar(&c.selectorLabels, "selector-labels", "app,name,app.kubernetes.io/name", "Comma-separated selector labels; the first one present in the target's selector is used.")
	fs.IntVar(&c.concurrency, "concurrency", 4, "Canaries reconciled at once.")
	fs.StringVar(&c.namespace, "namespace", "", "Only reconcile canaries in this namespace; all namespaces when empty.")
	fs.StringVar(&c.eventWebhook, "event-webhook", "", "URL that receives every canary event, in addition to the canaries' event webhooks.")
	opts := zap.Options{}
	opts.BindFlags(fs)
	_ = fs.Parse(args)
	return c, opts
}

func main() {
	cfg, zapOpts := parseFlags(os.Args[1:])
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")
	if err := run(cfg); err != nil {
		log.Error(err, "Operator stopped")
		os.Exit(1)
	}
}

func run(cfg config) error {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, flaggerv1.AddToScheme, gatewayv1.Install,
		appmeshv1beta2.AddToScheme, appmeshv1beta1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	restCfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	var cacheOpts cache.Options
	if cfg.namespace != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{cfg.namespace: {}}
	}
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   cacheOpts,
		Metrics:                 metricsserver.Options{BindAddress: cfg.metricsAddr},
		HealthProbeBindAddress:  cfg.probeAddr,
		LeaderElection:          cfg.leaderElect,
		LeaderElectionID:        "serin.flagger.app",
		LeaderElectionNamespace: cfg.leaderElectionNS,
		// A new leader must not act before the old one has stopped.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	ctx := ctrl.SetupSignalHandler()
	tel, err := telemetry.New(ctrlmetrics.Registry, mgr.GetCache(), version, cfg.meshProvider)
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	cl := mgr.GetClient()
	selectorLabels := splitList(cfg.selectorLabels)
	meshV1beta2 := appmesh.NewV1beta2(cl, scheme)
	meshV1beta2.SelectorLabels = selectorLabels
	r := &controller.CanaryReconciler{
		Client:   cl,
		Scheme:   scheme,
		Recorder: mgr.GetEventRecorderFor("serin"), //nolint:staticcheck // see CanaryReconciler.Recorder
		Clock:    clock.RealClock{},
		Services: &kubernetes.Services{Client: cl, Scheme: scheme},
		Routers: router.NewFactory(map[string]router.Router{
			"kubernetes":      kubernetes.Router{},
			"appmesh:v1beta2": meshV1beta2,
			"appmesh":         appmesh.NewV1beta1(cl, scheme, cfg.meshName),
			"gatewayapi:v1":   gatewayapi.New(cl, scheme),
		}),
		Webhooks:        controller.WebhookClient{Client: &webhook.Client{EventURL: cfg.eventWebhook}},
		Metrics:         controller.MetricsClient{Checker: &metrics.Checker{Reader: cl, DefaultServer: cfg.metricsServer}},
		Telemetry:       tel,
		DefaultProvider: cfg.meshProvider,
		SelectorLabels:  selectorLabels,
		ApexAnnotations: apexAnnotations,
	}
	routing, err := controller.InstalledKinds(mgr.GetRESTMapper(), scheme,
		&gatewayv1.HTTPRoute{}, &appmeshv1beta2.VirtualRouter{}, &appmeshv1beta2.VirtualNode{}, &appmeshv1beta2.VirtualService{},
		&appmeshv1beta1.VirtualService{}, &appmeshv1beta1.VirtualNode{})
	if err != nil {
		return err
	}
	setup := controller.SetupOptions{MaxConcurrentReconciles: cfg.concurrency, RoutingKinds: routing}
	if err := r.SetupWithManager(ctx, mgr, setup); err != nil {
		return fmt.Errorf("set up canary controller: %w", err)
	}
	ctrl.Log.WithName("setup").Info("Starting operator", "version", version, "meshProvider", cfg.meshProvider, "metricsServer", cfg.metricsServer)
	return mgr.Start(ctx)
}

// apexAnnotations exposes App Mesh canaries through the App Mesh gateway
// when spec.service.hosts is set.
func apexAnnotations(provider string, c *flaggerv1.Canary) map[string]string {
	if strings.HasPrefix(provider, "appmesh") {
		return appmesh.GatewayAnnotations(c)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
