// Command mesh-emulator runs the mesh data-plane emulator (package
// emulator) against the cluster of $KUBECONFIG: virtual hosts on --listen,
// the meshes' metrics and the traffic report on --admin-listen.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/serin-dev/serin/test/emulator"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:10000", "address of the virtual hosts")
	admin := flag.String("admin-listen", "127.0.0.1:9901", "address of /metrics, /debug/traffic and /readyz")
	backend := flag.String("backend", "http://127.0.0.1:9898", "URL of the podinfo backend")
	flag.Parse()
	handler := slog.NewJSONHandler(os.Stderr, nil)
	log := slog.New(handler)
	// The informers log through controller-runtime's logger.
	ctrllog.SetLogger(logr.FromSlogHandler(handler))
	if err := run(*listen, *admin, *backend, log); err != nil {
		log.Error("Mesh emulator stopped", "error", err.Error())
		os.Exit(1)
	}
}

func run(listen, admin, backend string, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	restCfg, err := config.GetConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	be, err := url.Parse(backend)
	if err != nil {
		return fmt.Errorf("--backend: %w", err)
	}
	em, err := emulator.New(emulator.Config{REST: restCfg, Backend: be, Log: log})
	if err != nil {
		return err
	}
	// The first of the three to end (with an error, or on a signal) stops
	// the others.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	parts := []func() error{
		func() error { return em.Run(ctx) },
		func() error { return serve(ctx, listen, em.DataPlane()) },
		func() error { return serve(ctx, admin, em.Admin()) },
	}
	errc := make(chan error, len(parts))
	for _, p := range parts {
		go func() { errc <- p(); cancel() }()
	}
	log.Info("Serving", "virtualHosts", listen, "admin", admin, "backend", backend)
	var first error
	for range parts {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// serve runs an HTTP server on addr until ctx ends.
func serve(ctx context.Context, addr string, h http.Handler) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
