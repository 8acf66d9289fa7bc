// Command podinfo serves the podinfo-like backend that the mesh emulator
// forwards requests to (see package podinfo).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/serin-dev/serin/test/podinfo"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9898", "address to serve HTTP on")
	version := flag.String("version", "dev", "version reported when a request names no image")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(*listen, *version, log); err != nil {
		log.Error("Podinfo stopped", "error", err.Error())
		os.Exit(1)
	}
}

func run(listen, version string, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: listen, Handler: (&podinfo.Server{Version: version}).Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("Serving podinfo", "address", listen)
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", listen, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
