package main

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/serin-dev/serin/internal/loadtester"
)

// bindFlags defines the command line: Serin's flags, and Flagger's load
// tester flags (-port, -log-level, -timeout, -namespace-regexp,
// -log-cmd-output, -zap-encoding) with the same meaning.
func bindFlags(f *pflag.FlagSet, cfg *loadtester.Config, opts *options) {
	f.StringVar(&opts.listenAddress, "listen-address", ":8080", "address to serve HTTP on")
	f.Var(portFlag{&opts.listenAddress}, "port", "port to serve HTTP on, all addresses (Flagger's flag; sets --listen-address to :PORT)")
	f.StringArrayVar(&opts.extraPrograms, "allow-program", nil,
		"program cmd tasks may run, besides hey (repeatable; bare name looked up on PATH)")
	f.BoolVar(&cfg.Policy.EnableBash, "enable-bash", false, "allow type bash (runs metadata.cmd with bash -c)")
	f.BoolVar(&cfg.Policy.EnableKubectl, "enable-kubectl", false, "allow type kubectl")
	f.BoolVar(&cfg.Policy.EnableHelm, "enable-helm", false, "allow types helm and helmv3")
	f.StringVar(&opts.namespaceRegexp, "namespace-regexp", "",
		"only serve canaries whose namespace fully matches this regular expression")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest request body accepted")
	f.IntVar(&cfg.MaxConcurrent, "max-concurrent", cfg.MaxConcurrent, "most commands running at once")
	f.IntVar(&cfg.MaxPerNamespace, "max-concurrent-per-namespace", cfg.MaxPerNamespace,
		"most commands running at once for the canaries of one namespace")
	f.IntVar(&cfg.MaxGates, "max-gates", cfg.MaxGates, "most gates open at once")
	f.StringVar(&opts.gateTokenFile, "gate-token-file", "",
		"file holding the bearer token that /gate/open, /gate/close, /rollback/open and /rollback/close require")
	f.StringVar(&opts.gateTokenSecret, "gate-token-secret", "",
		"Secret, in the pod's namespace, whose key token holds the bearer token gate changes require")
	f.IntVar(&cfg.Policy.Hey.MaxWorkers, "hey-max-workers", cfg.Policy.Hey.MaxWorkers, "largest hey -c accepted")
	f.IntVar(&cfg.Policy.Hey.MaxRequests, "hey-max-requests", cfg.Policy.Hey.MaxRequests, "largest hey -n accepted")
	f.Float64Var(&cfg.Policy.Hey.MaxRate, "hey-max-rate", cfg.Policy.Hey.MaxRate, "largest hey -q (requests per second per worker) accepted")
	f.DurationVar(&cfg.Policy.Hey.MaxDuration, "hey-max-duration", cfg.Policy.Hey.MaxDuration, "largest hey -z accepted")
	f.DurationVar(&cfg.ReadTimeout, "read-timeout", cfg.ReadTimeout, "longest time to read a request")
	f.DurationVar(&cfg.IdleTimeout, "idle-timeout", cfg.IdleTimeout, "longest time a keep-alive connection may stay idle")
	f.DurationVar(&cfg.Policy.DefaultTimeout, "timeout", cfg.Policy.DefaultTimeout,
		"command timeout when metadata.timeout is unset")
	f.DurationVar(&cfg.Policy.MaxTimeout, "max-timeout", cfg.Policy.MaxTimeout, "largest metadata.timeout accepted")
	f.DurationVar(&cfg.KillGrace, "kill-grace", cfg.KillGrace, "time between SIGTERM and SIGKILL when stopping a command")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "longest graceful shutdown")
	f.BoolVar(&cfg.Policy.LogOutput, "log-cmd-output", false, "log the output of every command when it finishes")
	f.StringVar(&opts.gateStore, "gate-store", "auto",
		"where gate state is kept: configmap, file, or auto (configmap in a cluster, else file)")
	f.StringVar(&opts.gateFile, "gate-file", "serin-loadtester-gates.json", "gate state file for --gate-store=file")
	f.StringVar(&opts.gateConfigMap, "gate-configmap", "serin-loadtester-gates",
		"ConfigMap, in the pod's namespace, holding gate state for --gate-store=configmap")
	f.Var(levelFlag{&opts.logLevel}, "log-level", "log level: debug, info, warn (warning) or error; fatal and panic mean error")
	f.Var(encodingFlag{&opts.logText}, "zap-encoding", "log encoding: json or console (text)")
	f.Var(noteFlag{name: "zap-replace-globals", why: "the load tester has no global zap logger", notes: &opts.notes},
		"zap-replace-globals", "Flagger's flag; no effect")
	f.Lookup("zap-replace-globals").NoOptDefVal = "true"
	f.BoolVar(&opts.showVersion, "version", false, "print the version and exit")
}

// logger writes JSON, or text with -zap-encoding=console, at the level set.
func (o options) logger(w io.Writer) *slog.Logger {
	h := &slog.HandlerOptions{Level: o.logLevel}
	if o.logText {
		return slog.New(slog.NewTextHandler(w, h))
	}
	return slog.New(slog.NewJSONHandler(w, h))
}

// longFlags lets Flagger's single-dash spellings (-port=8080) through
// pflag, which would read them as runs of one-letter flags: the load
// tester has no one-letter flags but -h, so every other single-dash word
// is a long flag.
func longFlags(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			a = "-" + a
		}
		out[i] = a
	}
	return out
}

// portFlag sets the listen address from a port number.
type portFlag struct{ addr *string }

func (p portFlag) String() string { return "" }
func (p portFlag) Type() string   { return "port" }
func (p portFlag) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q is not a port number (1-65535)", v)
	}
	*p.addr = ":" + v
	return nil
}

// levelFlag reads Flagger's log levels into a slog level.
type levelFlag struct{ level *slog.Level }

func (l levelFlag) String() string { return strings.ToLower(l.level.String()) }
func (l levelFlag) Type() string   { return "level" }
func (l levelFlag) Set(v string) error {
	switch strings.ToLower(v) {
	case "debug":
		*l.level = slog.LevelDebug
	case "info":
		*l.level = slog.LevelInfo
	case "warn", "warning":
		*l.level = slog.LevelWarn
	case "error", "fatal", "panic":
		*l.level = slog.LevelError
	default:
		return fmt.Errorf("unknown level %q: use debug, info, warn, error, fatal or panic", v)
	}
	return nil
}

// encodingFlag reads zap's encodings: json or console.
type encodingFlag struct{ text *bool }

func (e encodingFlag) String() string {
	if *e.text {
		return "console"
	}
	return "json"
}
func (e encodingFlag) Type() string { return "encoding" }
func (e encodingFlag) Set(v string) error {
	switch v {
	case "json":
		*e.text = false
	case "console":
		*e.text = true
	default:
		return fmt.Errorf("unknown encoding %q: use json or console", v)
	}
	return nil
}

// noteFlag accepts a Flagger flag that has no effect here and records why.
type noteFlag struct {
	name, why string
	notes     *[]string
}

func (n noteFlag) String() string { return "" }
func (n noteFlag) Type() string   { return "bool" }
func (n noteFlag) Set(string) error {
	*n.notes = append(*n.notes, fmt.Sprintf("--%s has no effect: %s", n.name, n.why))
	return nil
}
