package dashboard

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Config is the dashboard's command line.
type Config struct {
	// Addr is the listen address, e.g. :8080.
	Addr string
	// CertFile and KeyFile serve HTTPS when set (both or neither).
	CertFile, KeyFile string
	// Namespace limits the dashboard to one namespace; all when empty.
	Namespace string
	Auth      AuthOptions
	Server    Options
	// Ready, when set, receives the listener's address once serving.
	Ready func(addr string)
}

// Validate refuses settings the dashboard cannot honour.
func (c Config) Validate() error {
	switch {
	case (c.CertFile == "") != (c.KeyFile == ""):
		return errors.New("--tls-cert-file and --tls-private-key-file go together: set both to serve HTTPS, or neither")
	case c.Auth.CacheTTL < 0:
		return fmt.Errorf("--auth-cache-ttl %s must not be negative", c.Auth.CacheTTL)
	case c.Server.MaxStreams < 1 || c.Server.MaxStreamsPerUser < 1:
		return fmt.Errorf("--max-streams (%d) and --max-streams-per-user (%d) must be at least 1", c.Server.MaxStreams, c.Server.MaxStreamsPerUser)
	case c.Server.Heartbeat < time.Second:
		return fmt.Errorf("the stream heartbeat %s must be at least 1s", c.Server.Heartbeat)
	}
	return nil
}

// Run serves the dashboard until ctx ends.
func Run(ctx context.Context, log logr.Logger, restCfg *rest.Config, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := flaggerv1.AddToScheme(scheme); err != nil {
		return err
	}
	opts := cache.Options{Scheme: scheme, ByObject: map[client.Object]cache.ByObject{
		// Only events about canaries are kept in memory.
		&corev1.Event{}: {Field: fields.OneTermEqualSelector("involvedObject.kind", "Canary")},
	}}
	if cfg.Namespace != "" {
		opts.DefaultNamespaces = map[string]cache.Config{cfg.Namespace: {}}
	}
	informers, err := cache.New(restCfg, opts)
	if err != nil {
		return fmt.Errorf("create cache: %w", err)
	}
	broker := NewBroker()
	if err := broker.Feed(ctx, informers); err != nil {
		return err
	}
	go func() {
		if err := informers.Start(ctx); err != nil {
			log.Error(err, "Cache stopped")
		}
	}()
	if !informers.WaitForCacheSync(ctx) {
		return errors.New("the canary and event caches did not sync")
	}
	writer, err := client.New(restCfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	authn, authz, err := NewAuth(cs, cfg.Auth)
	if err != nil {
		return err
	}
	srv := NewServer(log, authn, authz, informers, writer, broker, cfg.Server)
	return serve(ctx, log, srv.Handler(), cfg)
}

// serve listens until ctx ends, then shuts down within a few seconds.
func serve(ctx context.Context, log logr.Logger, h http.Handler, cfg Config) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		// No WriteTimeout: streams stay open; each write has a deadline.
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12},
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	scheme := "http"
	if cfg.CertFile != "" {
		scheme = "https"
	}
	log.Info("Serving the dashboard", "address", scheme+"://"+ln.Addr().String(), "anonymous", cfg.Auth.AllowAnonymous, "namespace", cfg.Namespace)
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr().String())
	}
	if cfg.CertFile != "" {
		err = hs.ServeTLS(ln, cfg.CertFile, cfg.KeyFile)
	} else {
		err = hs.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
