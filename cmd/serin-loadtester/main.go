// Command serin-loadtester is the webhook service canary analyses call to generate load and to
// hold approval and rollback gates. See docs/loadtester.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"regexp"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
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
	gateTokenFile   string
	gateTokenSecret string
	logLevel        slog.Level
	// logText selects text logs instead of JSON (-zap-encoding=console).
	logText     bool
	showVersion bool
	// notes are logged at start: Flagger flags accepted without effect.
	notes []string
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	cmd := newCommand()
	cmd.SetArgs(longFlags(os.Args[1:]))
	if err := cmd.Execute(); err != nil {
		var logged loggedError
		if !errors.As(err, &logged) {
			fmt.Fprintf(os.Stderr, "serin-loadtester: %v\n", err)
		}
		os.Exit(1)
	}
}

// loggedError is an error the load tester has already logged.
type loggedError struct{ error }

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
			if opts.showVersion {
				fmt.Fprintf(cmd.OutOrStdout(), "serin-loadtester version %s\n", version)
				return nil
			}
			log := opts.logger(os.Stderr)
			for _, note := range opts.notes {
				log.Info("Flag accepted for Flagger compatibility", "note", note)
			}
			if err := run(cmd.Context(), cfg, opts, log); err != nil {
				log.Error("Load tester failed", "error", err.Error())
				return loggedError{err}
			}
			return nil
		},
	}
	bindFlags(cmd.Flags(), &cfg, &opts)
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
	store, err := newGateStore(opts, cfg.MaxGates, log)
	if err != nil {
		return err
	}
	if cfg.GateToken, err = gateToken(ctx, opts); err != nil {
		return err
	}
	if cfg.GateToken == nil {
		log.Warn("Gates can be changed by anyone who reaches the service: set --gate-token-file or --gate-token-secret")
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

// gateToken returns the source of the gate token, and checks that it can be read now, so a
// mistake shows at startup rather than at the first gate change.
func gateToken(ctx context.Context, opts options) (loadtester.TokenSource, error) {
	var src loadtester.TokenSource
	switch {
	case opts.gateTokenFile != "" && opts.gateTokenSecret != "":
		return nil, fmt.Errorf("set --gate-token-file or --gate-token-secret, not both")
	case opts.gateTokenFile != "":
		src = loadtester.FileToken(opts.gateTokenFile)
	case opts.gateTokenSecret != "":
		namespace, inCluster := loadtester.InClusterNamespace()
		if !inCluster {
			return nil, fmt.Errorf("--gate-token-secret needs the pod namespace: set POD_NAMESPACE")
		}
		c, err := kubeClient()
		if err != nil {
			return nil, err
		}
		src = loadtester.SecretToken{Client: c, Secret: types.NamespacedName{Namespace: namespace, Name: opts.gateTokenSecret}}
	default:
		return nil, nil
	}
	if _, err := src.Token(ctx); err != nil {
		return nil, fmt.Errorf("gate token: %w", err)
	}
	return src, nil
}

func kubeClient() (client.Client, error) {
	restCfg, err := config.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	c, err := client.New(restCfg, client.Options{})
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client: %w", err)
	}
	return c, nil
}

func newGateStore(opts options, maxGates int, log *slog.Logger) (loadtester.GateStore, error) {
	kind := opts.gateStore
	namespace, inCluster := loadtester.InClusterNamespace()
	if kind == "auto" {
		kind = map[bool]string{true: "configmap", false: "file"}[inCluster]
	}
	switch kind {
	case "file":
		log.Info("Gate state in a file", "path", opts.gateFile)
		return loadtester.OpenFileStore(opts.gateFile, maxGates)
	case "configmap":
		if !inCluster {
			return nil, fmt.Errorf("--gate-store=configmap needs the pod namespace: set POD_NAMESPACE")
		}
		c, err := kubeClient()
		if err != nil {
			return nil, fmt.Errorf("gate ConfigMap: %w", err)
		}
		log.Info("Gate state in a ConfigMap", "namespace", namespace, "name", opts.gateConfigMap)
		return loadtester.NewConfigMapStore(c, namespace, opts.gateConfigMap, maxGates), nil
	default:
		return nil, fmt.Errorf("--gate-store must be auto, configmap or file, not %q", kind)
	}
}
