// Package emulator is the mesh data-plane emulator of Serin's end-to-end
// tests and demo. Pods in the local cluster are fake (kwok), so no request
// can reach them; the emulator stands in for the sidecars of App Mesh,
// Istio and Linkerd and for a Gateway API implementation, and for nothing
// else:
//
//   - it watches the routing objects the operator writes: App Mesh v1beta2
//     VirtualServices and VirtualRouters, App Mesh v1beta1 VirtualServices,
//     Istio VirtualServices and Gateway API HTTPRoutes (attached to
//     gateways by hostname, or to a Service as Linkerd reads them), each
//     only while its CRD is installed;
//   - it serves the virtual hosts on one loopback port, routing by Host
//     (podinfo.test, podinfo-canary.test:9898), and falls back to the
//     Service <name>.<namespace> like kube-proxy;
//   - it splits each request by the weights and matches the routing object
//     carries at that moment, picks a ready pod of the chosen Service
//     round-robin, and forwards the request to one real backend (package
//     podinfo) as that pod; an Istio mirror gets a copy whose answer is
//     dropped;
//   - it exports, for every request, the series each mesh's proxy would
//     report (Envoy's, Istio's and Linkerd's, see meshMetrics) labelled
//     with that pod, and counts the requests per namespace, host,
//     Deployment and role (primary or canary) for tests (/debug/traffic,
//     FetchReport).
package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	appmeshv1beta1 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta1"
	appmeshv1beta2 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
)

// Config configures an Emulator.
type Config struct {
	// REST reaches the cluster.
	REST *rest.Config
	// Backend is the podinfo backend every request is forwarded to.
	Backend *url.URL
	// Log receives the emulator's own messages.
	Log *slog.Logger
	// KindRecheck is how often routing kinds whose CRDs are missing are
	// looked for again; 5 s when zero.
	KindRecheck time.Duration
}

// Emulator is one emulated mesh data plane.
type Emulator struct {
	cfg    Config
	scheme *runtime.Scheme
	cache  cache.Cache
	mapper meta.RESTMapper
	kinds  []*routingKind
	reg    *prometheus.Registry
	data   *dataPlane
	ready  atomic.Bool
}

// New prepares an emulator; Run starts it.
func New(cfg Config) (*Emulator, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.KindRecheck == 0 {
		cfg.KindRecheck = 5 * time.Second
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, gatewayv1.Install, appmeshv1beta2.AddToScheme, appmeshv1beta1.AddToScheme, istiov1beta1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	hc, err := rest.HTTPClientFor(cfg.REST)
	if err != nil {
		return nil, err
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg.REST, hc)
	if err != nil {
		return nil, fmt.Errorf("discover the cluster's APIs: %w", err)
	}
	c, err := cache.New(cfg.REST, cache.Options{
		Scheme: scheme, Mapper: mapper, HTTPClient: hc,
		// Reads of a kind whose informer was not started (its CRD is
		// missing) fail instead of starting one behind our back.
		ReaderFailOnMissingInformer: true,
	})
	if err != nil {
		return nil, fmt.Errorf("create informer cache: %w", err)
	}
	e := &Emulator{cfg: cfg, scheme: scheme, cache: c, mapper: mapper, kinds: newRoutingKinds(), reg: prometheus.NewRegistry()}
	e.data = &dataPlane{
		resolver:  &resolver{reader: c, kinds: e.kinds},
		endpoints: newEndpoints(c),
		splitter:  newSplitter(),
		metrics:   newMeshMetrics(e.reg),
		ledger:    newLedger(),
		proxy:     newProxy(cfg.Backend),
		log:       cfg.Log,
	}
	return e, nil
}

// Run starts the informers and keeps looking for missing routing kinds
// until ctx ends. The emulator is ready once pods, services and the routing
// kinds present at start are synced.
func (e *Emulator) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- e.cache.Start(ctx) }()
	for _, obj := range []client.Object{&corev1.Pod{}, &corev1.Service{}} {
		if _, err := e.cache.GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("watch %T: %w", obj, err)
		}
	}
	if !e.cache.WaitForCacheSync(ctx) {
		return fmt.Errorf("informer cache did not sync")
	}
	e.watchKinds(ctx)
	e.ready.Store(true)
	e.cfg.Log.Info("Mesh emulator ready")
	tick := time.NewTicker(e.cfg.KindRecheck)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
			return nil
		case <-tick.C:
			e.watchKinds(ctx)
		}
	}
}

// DataPlane serves the virtual hosts.
func (e *Emulator) DataPlane() http.Handler { return e.data }

// Admin serves /metrics (Envoy format), /debug/traffic (Report as JSON),
// and /readyz.
func (e *Emulator) Admin() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/traffic", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(e.data.ledger.report())
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !e.ready.Load() {
			http.Error(w, "informers not synced", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	return mux
}

// Report returns the requests routed so far.
func (e *Emulator) Report() Report { return e.data.ledger.report() }
