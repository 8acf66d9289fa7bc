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
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/controller"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/internal/router/kubernetes"
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
}

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
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, flaggerv1.AddToScheme} {
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
	r := &controller.CanaryReconciler{
		Client:          mgr.GetClient(),
		Scheme:          scheme,
		Recorder:        mgr.GetEventRecorder("serin"),
		Clock:           clock.RealClock{},
		Services:        &kubernetes.Services{Client: mgr.GetClient(), Scheme: scheme},
		Routers:         router.NewFactory(map[string]router.Router{"kubernetes": kubernetes.Router{}}),
		DefaultProvider: cfg.meshProvider,
		SelectorLabels:  splitList(cfg.selectorLabels),
	}
	if err := r.SetupWithManager(ctx, mgr, controller.SetupOptions{MaxConcurrentReconciles: cfg.concurrency}); err != nil {
		return fmt.Errorf("set up canary controller: %w", err)
	}
	ctrl.Log.WithName("setup").Info("Starting operator", "meshProvider", cfg.meshProvider, "metricsServer", cfg.metricsServer)
	return mgr.Start(ctx)
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
