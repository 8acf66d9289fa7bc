// Command serin is the progressive-delivery operator: a controller-runtime
// manager running the Canary reconciler.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"

	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/alert"
	"github.com/serin-dev/serin/internal/configdata"
	"github.com/serin-dev/serin/internal/controller"
	"github.com/serin-dev/serin/internal/eventsink"
	"github.com/serin-dev/serin/internal/gitops"
	"github.com/serin-dev/serin/internal/memlimit"
	"github.com/serin-dev/serin/internal/metrics"
	"github.com/serin-dev/serin/internal/notify"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/internal/router/appmesh"
	appmeshv1beta1 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta1"
	appmeshv1beta2 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
	"github.com/serin-dev/serin/internal/router/gatewayapi"
	"github.com/serin-dev/serin/internal/router/istio"
	"github.com/serin-dev/serin/internal/router/kubernetes"
	"github.com/serin-dev/serin/internal/router/linkerd"
	"github.com/serin-dev/serin/internal/telemetry"
	"github.com/serin-dev/serin/internal/webhook"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if selectsReplay(os.Args[1:]) {
		os.Exit(runReplay(os.Args[2:], os.Stdout, os.Stderr))
	}
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "serin: %v\n", err)
		os.Exit(2)
	}
	if cfg.showVersion {
		fmt.Printf("serin version %s\n", version)
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&cfg.zap)))
	log := ctrl.Log.WithName("setup")
	for _, note := range cfg.notes {
		log.Info("Flag accepted for Flagger compatibility", "note", note)
	}
	if limit, from, err := memlimit.Set("/sys/fs/cgroup"); err != nil {
		log.Error(err, "No Go memory limit: the container's could not be read")
	} else if limit != 0 {
		log.Info("Go memory limit", "bytes", limit, "from", from)
	}
	if err := run(cfg); err != nil {
		log.Error(err, "Operator stopped")
		os.Exit(1)
	}
}

// restConfig loads the kubeconfig: from -kubeconfig and -master as Flagger
// does when either is set, else as controller-runtime does ($KUBECONFIG,
// in-cluster, ~/.kube/config). Then it applies the client rate limits.
func restConfig(cfg config) (*rest.Config, error) {
	var restCfg *rest.Config
	var err error
	if cfg.kubeconfig != "" || cfg.master != "" {
		restCfg, err = clientcmd.BuildConfigFromFlags(cfg.master, cfg.kubeconfig)
	} else {
		restCfg, err = ctrl.GetConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	if restCfg.QPS == 0 {
		// As controller-runtime: no client-side limit, API priority and
		// fairness applies.
		restCfg.QPS = -1
	}
	if cfg.qps > 0 {
		restCfg.QPS = float32(cfg.qps)
	}
	if cfg.burst > 0 {
		restCfg.Burst = cfg.burst
	}
	if cfg.shard.Selector != nil {
		// The API server's audit log then tells the shards' requests apart.
		restCfg.UserAgent = rest.DefaultKubernetesUserAgent() + " shard/" + cfg.shard.LeaseName()
	}
	return restCfg, nil
}

func run(cfg config) error {
	policy := cfg.egress
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, flaggerv1.AddToScheme, gatewayv1.Install,
		appmeshv1beta2.AddToScheme, appmeshv1beta1.AddToScheme, istiov1beta1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	restCfg, err := restConfig(cfg)
	if err != nil {
		return err
	}
	// The metrics endpoint serves the probes as well, as Flagger's port
	// does, so probes of http://localhost:8080/healthz work.
	probes := &healthz.Handler{Checks: map[string]healthz.Checker{"ping": healthz.Ping}}
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme: scheme,
		Cache:  controller.CacheOptions(cfg.namespace, cfg.shard),
		// ConfigMaps and Secrets are watched metadata-only and their data
		// read through configdata; a cached read of one would start a full
		// informer holding every Secret of the cluster.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}}},
		Metrics: metricsserver.Options{BindAddress: cfg.metricsAddr, ExtraHandlers: map[string]http.Handler{
			"/healthz": http.StripPrefix("/healthz", probes), "/readyz": http.StripPrefix("/readyz", probes)}},
		HealthProbeBindAddress:  cfg.probeAddr,
		PprofBindAddress:        cfg.pprofAddr,
		LeaderElection:          cfg.leaderElect,
		LeaderElectionID:        cfg.shard.LeaseName(),
		LeaderElectionNamespace: cfg.leaderElectionNS,
		// A new leader must not act before the old one has stopped.
		LeaderElectionReleaseOnCancel: true,
		// client-go's recorder with a sink that writes concurrently: alone,
		// it drops most events of a fleet-wide release (internal/eventsink).
		// The manager lives as long as the process, so the broadcaster
		// cannot outlive it.
		EventBroadcaster: eventsink.NewBroadcaster(eventsink.Options{ //nolint:staticcheck // the option is kept for this API
			Writers: eventWriters, Queue: eventQueue, Log: ctrl.Log.WithName("events")}),
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
	notifier := notify.NewDispatcher(notify.Options{Metrics: tel, Log: ctrl.Log.WithName("notify")})
	if err := mgr.Add(notifier); err != nil {
		return err
	}
	// One field manager name on every write, so that managedFields (and
	// the replica-conflict rule) tell the operator's writes from others'.
	cl := client.WithFieldOwner(mgr.GetClient(), controller.FieldManager)
	configs := &configdata.Reader{Metadata: mgr.GetCache(), API: mgr.GetAPIReader()}
	selectorLabels := splitList(cfg.selectorLabels)
	// The routers again on an uncached client (controller-runtime's plain
	// client.New), for reading routes the cache may lag.
	uncached, err := client.New(mgr.GetConfig(), client.Options{Scheme: scheme, Mapper: mgr.GetRESTMapper()})
	if err != nil {
		return fmt.Errorf("create uncached client: %w", err)
	}
	recorder := mgr.GetEventRecorderFor("serin") //nolint:staticcheck // see CanaryReconciler.Recorder
	r := &controller.CanaryReconciler{
		Client:      cl,
		APIReader:   mgr.GetAPIReader(),
		Scheme:      scheme,
		Recorder:    recorder,
		Clock:       clock.RealClock{},
		Services:    &kubernetes.Services{Client: cl, Scheme: scheme},
		Routers:     newRouters(cl, scheme, cfg.meshName, selectorLabels),
		LiveRouters: newRouters(client.WithFieldOwner(uncached, controller.FieldManager), scheme, cfg.meshName, selectorLabels),
		Webhooks:    controller.WebhookClient{Client: &webhook.Client{EventURL: cfg.eventWebhook, Egress: policy}},
		Metrics: controller.MetricsClient{Checker: &metrics.Checker{Reader: cl, Secrets: configs, DefaultServer: cfg.metricsServer,
			NoCrossNamespaceRefs: cfg.noCrossNamespaceRefs, Egress: policy}},
		Notifier: notifier,
		Alerts: &alert.Alerts{Providers: cl, Secrets: configs, Sender: &alert.Sender{Policy: policy}, Cluster: cfg.alerts.cluster,
			Global: cfg.alerts.targets(), Recorder: recorder},
		StepTimeout:           cfg.stepTimeout,
		Telemetry:             tel,
		DefaultProvider:       cfg.meshProvider,
		SelectorLabels:        selectorLabels,
		Copy:                  gitops.CopyRule{LabelPrefixes: splitList(cfg.includeLabelPrefix)},
		ApexAnnotations:       apexAnnotations,
		DisableConfigTracking: !cfg.configTracking,
		Configs:               configs,
		NoCrossNamespaceRefs:  cfg.noCrossNamespaceRefs,
	}
	routing, err := controller.InstalledKinds(mgr.GetRESTMapper(), scheme,
		&gatewayv1.HTTPRoute{}, &appmeshv1beta2.VirtualRouter{}, &appmeshv1beta2.VirtualNode{}, &appmeshv1beta2.VirtualService{},
		&appmeshv1beta1.VirtualService{}, &appmeshv1beta1.VirtualNode{},
		&istiov1beta1.VirtualService{}, &istiov1beta1.DestinationRule{})
	if err != nil {
		return err
	}
	setup := controller.SetupOptions{MaxConcurrentReconciles: cfg.concurrency, RoutingKinds: routing}
	if err := r.SetupWithManager(ctx, mgr, setup); err != nil {
		return fmt.Errorf("set up canary controller: %w", err)
	}
	ctrl.Log.WithName("setup").Info("Starting operator", "version", version, "meshProvider", cfg.meshProvider, "metricsServer", cfg.metricsServer,
		"noCrossNamespaceRefs", cfg.noCrossNamespaceRefs, "egress", policy.String(),
		"watchLabelSelector", cfg.shard.String(), "leaderElectionID", cfg.shard.LeaseName())
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

// newRouters builds each provider's router on cl.
func newRouters(cl client.Client, scheme *runtime.Scheme, meshName string, selectorLabels []string) *router.Factory {
	meshV1beta2 := appmesh.NewV1beta2(cl, scheme)
	meshV1beta2.SelectorLabels = selectorLabels
	return router.NewFactory(map[string]router.Router{
		"kubernetes":      kubernetes.Router{},
		"appmesh:v1beta2": meshV1beta2,
		"appmesh":         appmesh.NewV1beta1(cl, scheme, meshName),
		"gatewayapi:v1":   gatewayapi.New(cl, scheme),
		istio.Provider:    istio.New(cl, scheme),
		linkerd.Provider:  linkerd.New(cl, scheme),
	})
}
