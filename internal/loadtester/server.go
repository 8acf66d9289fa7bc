package loadtester

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is the service configuration; cmd/serin-loadtester fills it from flags.
type Config struct {
	// Policy is what callers may run.
	Policy Policy
	// MaxBodyBytes limits request bodies; larger ones get 413.
	MaxBodyBytes int64
	// MaxConcurrent limits commands running at once; beyond it requests get 429.
	MaxConcurrent int
	// MaxPerNamespace limits the commands running at once for the canaries of one namespace.
	MaxPerNamespace int
	// MaxGates limits the gates open at once; opening one more gets 429.
	MaxGates int
	// GateToken, when set, is the bearer token that requests changing a gate must carry.
	GateToken TokenSource
	// ReadTimeout bounds reading a request, IdleTimeout an idle keep-alive connection.
	ReadTimeout, IdleTimeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL when a command is stopped.
	KillGrace time.Duration
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration
}

// DefaultConfig returns the safe defaults: only hey may run, no shell, kubectl or helm.
func DefaultConfig() Config {
	return Config{
		Policy: Policy{
			AllowedPrograms: []string{"hey"},
			DefaultTimeout:  time.Hour,
			MaxTimeout:      time.Hour,
			Hey:             DefaultHeyLimits(),
		},
		MaxBodyBytes:    64 << 10,
		MaxConcurrent:   16,
		MaxPerNamespace: 8,
		MaxGates:        1000,
		ReadTimeout:     30 * time.Second,
		IdleTimeout:     2 * time.Minute,
		KillGrace:       5 * time.Second,
		ShutdownTimeout: 30 * time.Second,
	}
}

// Validate reports configuration that cannot work, naming the flag to fix.
func (c Config) Validate() error {
	var errs []error
	for _, p := range c.Policy.AllowedPrograms {
		if p == "" || strings.ContainsAny(p, "/ \t") {
			errs = append(errs, fmt.Errorf("--allow-program %q must be a bare program name found on PATH", p))
		}
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("--max-body-bytes must be positive"))
	}
	if c.MaxConcurrent <= 0 {
		errs = append(errs, errors.New("--max-concurrent must be positive"))
	}
	if c.MaxPerNamespace <= 0 {
		errs = append(errs, errors.New("--max-concurrent-per-namespace must be positive"))
	}
	if c.MaxGates <= 0 {
		errs = append(errs, errors.New("--max-gates must be positive"))
	}
	if c.ReadTimeout <= 0 || c.IdleTimeout <= 0 {
		errs = append(errs, errors.New("--read-timeout and --idle-timeout must be positive"))
	}
	if err := c.Policy.Hey.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Policy.DefaultTimeout <= 0 || c.Policy.DefaultTimeout > c.Policy.MaxTimeout {
		errs = append(errs, errors.New("--timeout must be positive and not above --max-timeout"))
	}
	if c.KillGrace <= 0 || c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("--kill-grace and --shutdown-timeout must be positive"))
	}
	return errors.Join(errs...)
}

// Server is the load tester's HTTP service.
type Server struct {
	cfg      Config
	runner   *Runner
	gates    GateStore
	metrics  *Metrics
	registry *prometheus.Registry
	log      *slog.Logger
}

// Option customises a Server.
type Option func(*serverOptions)

type serverOptions struct {
	exec Executor
	log  *slog.Logger
}

// WithExecutor replaces the process executor, e.g. with a fake in tests.
func WithExecutor(e Executor) Option { return func(o *serverOptions) { o.exec = e } }

// WithLogger sets the logger; the default discards logs.
func WithLogger(l *slog.Logger) Option { return func(o *serverOptions) { o.log = l } }

// NewServer builds the service around a gate store.
func NewServer(cfg Config, gates GateStore, opts ...Option) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid load tester configuration: %w", err)
	}
	o := serverOptions{
		exec: ProcessExecutor{KillGrace: cfg.KillGrace},
		log:  slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		opt(&o)
	}
	metrics, registry := newMetrics()
	return &Server{
		cfg:      cfg,
		runner:   NewRunner(o.exec, RunLimits{MaxConcurrent: cfg.MaxConcurrent, MaxPerNamespace: cfg.MaxPerNamespace}, metrics, o.log),
		gates:    gates,
		metrics:  metrics,
		registry: registry,
		log:      o.log,
	}, nil
}

// Handler routes the Flagger-compatible endpoints. Gates are POSTed by the controller;
// approve and halt ignore the request entirely, so they accept any method.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", s.handleCommand)
	mux.HandleFunc("/gate/approve", s.handleApprove)
	mux.HandleFunc("/gate/halt", s.handleHalt)
	mux.HandleFunc("POST /gate/check", s.handleGateCheck(GateApproval))
	// Changing a gate needs the bearer token when one is configured; checking one does not,
	// so Flagger-style webhooks (which send no credentials) keep working.
	mux.HandleFunc("POST /gate/open", s.withGateToken(s.handleGateSet(GateApproval, true)))
	mux.HandleFunc("POST /gate/close", s.withGateToken(s.handleGateSet(GateApproval, false)))
	mux.HandleFunc("POST /rollback/check", s.handleGateCheck(GateRollback))
	mux.HandleFunc("POST /rollback/open", s.withGateToken(s.handleGateSet(GateRollback, true)))
	mux.HandleFunc("POST /rollback/close", s.withGateToken(s.handleGateSet(GateRollback, false)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { reply(w, http.StatusOK, "ok") })
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	return mux
}

// handleCommand runs the task described by the payload: async types answer 202 at once,
// blocking types answer 200 or 500 when the command has finished.
func (s *Server) handleCommand(w http.ResponseWriter, r *http.Request) {
	p, rerr := s.decodePayload(w, r)
	if rerr != nil {
		s.refuse(w, r, rerr)
		return
	}
	task, rerr := s.cfg.Policy.Task(p)
	if rerr != nil {
		s.refuse(w, r, rerr)
		return
	}
	if task.Async {
		started, err := s.runner.Start(task)
		switch {
		case err != nil:
			s.refuse(w, r, runError(err))
		case started:
			reply(w, http.StatusAccepted, "command started")
		default:
			reply(w, http.StatusAccepted, "command already running for "+task.Canary+"; not started again")
		}
		return
	}
	res, err := s.runner.Run(r.Context(), task)
	switch {
	case r.Context().Err() != nil:
		// Nobody is left to answer; the command was stopped if nobody else waits for it.
		s.log.Info("Caller gave up waiting", "canary", task.Canary, "type", task.Type)
	case err != nil:
		s.refuse(w, r, runError(err))
	case res.Err != nil:
		reply(w, http.StatusInternalServerError, fmt.Sprintf("command failed: %v\n%s", res.Err, res.Output))
	case task.ReturnOutput:
		reply(w, http.StatusOK, res.Output)
	default:
		reply(w, http.StatusOK, "command succeeded")
	}
}

// runError maps a Runner error to a reply.
func runError(err error) *RequestError {
	switch {
	case errors.Is(err, ErrBusy):
		return refusal(http.StatusTooManyRequests, "busy", "%v; try again later", err)
	case errors.Is(err, ErrStopped):
		return refusal(http.StatusServiceUnavailable, "shutting_down", "%v", err)
	default:
		return refusal(http.StatusInternalServerError, "program_unavailable",
			"cannot run the command: %v", err)
	}
}

// decodePayload reads the webhook JSON, at most MaxBodyBytes of it.
func (s *Server) decodePayload(w http.ResponseWriter, r *http.Request) (Payload, *RequestError) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	var p Payload
	err := dec.Decode(&p)
	if err == nil {
		// Anything after the object means the body is not the single payload we expect.
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = fmt.Errorf("unexpected data after the JSON object: %w", terr)
		}
	}
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		return p, nil
	case errors.As(err, &tooLarge):
		return Payload{}, refusal(http.StatusRequestEntityTooLarge, "body_too_large",
			"request body is larger than %d bytes (--max-body-bytes)", tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return Payload{}, refusal(http.StatusBadRequest, "malformed_payload",
			"request body is empty: send the webhook payload as JSON")
	default:
		return Payload{}, refusal(http.StatusBadRequest, "malformed_payload",
			"request body is not a valid webhook payload: %v", err)
	}
}

// refuse answers a refused request, counts it and logs it: refusals are what an operator
// looks for when a canary is stuck or someone probes the service.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, rerr *RequestError) {
	s.metrics.refused.WithLabelValues(rerr.Reason).Inc()
	s.log.Warn("Request refused", "path", r.URL.Path, "remoteAddr", r.RemoteAddr,
		"status", rerr.Status, "reason", rerr.Reason, "message", rerr.Message)
	reply(w, rerr.Status, rerr.Message)
}

func reply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// Serve answers requests on ln until ctx is cancelled, then shuts down: running commands are
// stopped first (so blocking requests return), then the HTTP server drains.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// No WriteTimeout: a blocking command answers when it ends, up to --max-timeout later.
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.ReadTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("Load tester listening", "address", ln.Addr().String())

	var serveErr error
	select {
	case err := <-errc:
		serveErr = fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
		s.log.Info("Shutting down")
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.runner.Shutdown(sctx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("stop commands: %w", err))
	}
	if err := srv.Shutdown(sctx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("shut down http server: %w", err))
	}
	s.log.Info("Load tester stopped")
	return serveErr
}

// Shutdown stops every running command; tests use it where Serve is not running.
func (s *Server) Shutdown(ctx context.Context) error { return s.runner.Shutdown(ctx) }
