// Command serin-loadtester is the webhook service canary analyses call to generate load and to
// hold approval and rollback gates. See docs/loadtester.md.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"regexp"
	"syscall"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	"github.com/serin-dev/serin/internal/loadtester"
)

// options are the flags that are not part of loadtester.Config.
type options struct {
	listenAddress   string
	extraPrograms   []string
	namespaceRegexp string
	gateStore       string
	gateFile        string
	gateConfigMap   string
	logLevel        slog.Level
}

func main() {
	if err := newCommand().Execute(); err != nil {
		os.Exit(1)
	}
}

func newCommand() *cobra.Command {
	cfg := loadtester.DefaultConfig()
	opts := options{}
	cmd := &cobra.Command{
		Use:           "serin-loadtester",
		Short:         "Generate load for canaries and hold approval and rollback gates",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: opts.logLevel}))
			if err := run(cmd.Context(), cfg, opts, log); err != nil {
				log.Error("Load tester failed", "error", err.Error())
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.listenAddress, "listen-address", ":8080", "address to serve HTTP on")
	f.StringArrayVar(&opts.extraPrograms, "allow-program", nil,
		"program cmd tasks may run, besides hey (repeatable; bare name looked up on PATH)")
	f.BoolVar(&cfg.Policy.EnableBash, "enable-bash", false, "allow type bash (runs metadata.cmd with bash -c)")
	f.BoolVar(&cfg.Policy.EnableKubectl, "enable-kubectl", false, "allow type kubectl")
	f.BoolVar(&cfg.Policy.EnableHelm, "enable-helm", false, "allow types helm and helmv3")
	f.StringVar(&opts.namespaceRegexp, "namespace-regexp", "",
		"only serve canaries whose namespace fully matches this regular expression")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest request body accepted")
	f.IntVar(&cfg.MaxConcurrent, "max-concurrent", cfg.MaxConcurrent, "most commands running at once")
	f.DurationVar(&cfg.Policy.DefaultTimeout, "timeout", cfg.Policy.DefaultTimeout,
		"command timeout when metadata.timeout is unset")
	f.DurationVar(&cfg.Policy.MaxTimeout, "max-timeout", cfg.Policy.MaxTimeout, "largest metadata.timeout accepted")
	f.DurationVar(&cfg.KillGrace, "kill-grace", cfg.KillGrace, "time between SIGTERM and SIGKILL when stopping a command")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "longest graceful shutdown")
	f.StringVar(&opts.gateStore, "gate-store", "auto",
		"where gate state is kept: configmap, file, or auto (configmap in a cluster, else file)")
	f.StringVar(&opts.gateFile, "gate-file", "serin-loadtester-gates.json", "gate state file for --gate-store=file")
	f.StringVar(&opts.gateConfigMap, "gate-configmap", "serin-loadtester-gates",
		"ConfigMap, in the pod's namespace, holding gate state for --gate-store=configmap")
	f.TextVar(&opts.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	return cmd
}

func run(ctx context.Context, cfg loadtester.Config, opts options, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	cfg.Policy.AllowedPrograms = append(cfg.Policy.AllowedPrograms, opts.extraPrograms...)
	if opts.namespaceRegexp != "" {
		re, err := regexp.Compile(`^(?:` + opts.namespaceRegexp + `)$`)
		if err != nil {
			return fmt.Errorf("parse --namespace-regexp: %w", err)
		}
		cfg.Policy.Namespaces = re
	}
	store, err := newGateStore(opts, log)
	if err != nil {
		return err
	}
	srv, err := loadtester.NewServer(cfg, store, loadtester.WithLogger(log))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opts.listenAddress)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", opts.listenAddress, err)
	}
	return srv.Serve(ctx, ln)
}

func newGateStore(opts options, log *slog.Logger) (loadtester.GateStore, error) {
	kind := opts.gateStore
	namespace, inCluster := loadtester.InClusterNamespace()
	if kind == "auto" {
		kind = map[bool]string{true: "configmap", false: "file"}[inCluster]
	}
	switch kind {
	case "file":
		log.Info("Gate state in a file", "path", opts.gateFile)
		return loadtester.OpenFileStore(opts.gateFile)
	case "configmap":
		if !inCluster {
			return nil, fmt.Errorf("--gate-store=configmap needs the pod namespace: set POD_NAMESPACE")
		}
		restCfg, err := config.GetConfig()
		if err != nil {
			return nil, fmt.Errorf("load kubeconfig for the gate ConfigMap: %w", err)
		}
		c, err := client.New(restCfg, client.Options{})
		if err != nil {
			return nil, fmt.Errorf("create Kubernetes client: %w", err)
		}
		log.Info("Gate state in a ConfigMap", "namespace", namespace, "name", opts.gateConfigMap)
		return loadtester.NewConfigMapStore(c, namespace, opts.gateConfigMap), nil
	default:
		return nil, fmt.Errorf("--gate-store must be auto, configmap or file, not %q", kind)
	}
}
