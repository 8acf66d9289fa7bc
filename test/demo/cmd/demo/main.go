// Command demo plays the seed's canary releases on a local control plane
// with a live view (`make demo`; docs/demo.md). DEMO_FAST=1 or --fast uses
// the short timings CI uses; DEMO_GITOPS=1 or --gitops releases by git
// commits that Flux applies (docs/gitops.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/serin-dev/serin/test/cluster"
	"github.com/serin-dev/serin/test/demo"
)

func main() {
	provider := flag.String("provider", "appmesh:v1beta2", "mesh provider: appmesh:v1beta2, appmesh (v1beta1), gatewayapi:v1, istio or linkerd")
	namespace := flag.String("namespace", "test", "namespace of the application")
	fast := flag.Bool("fast", os.Getenv("DEMO_FAST") == "1", "2s steps and metrics over 10s instead of the seed's 10s and 1m (also DEMO_FAST=1)")
	dir := flag.String("dir", "", "directory for binaries, state and logs (default .demo in the repository)")
	gitOps := flag.Bool("gitops", os.Getenv("DEMO_GITOPS") == "1", "release by git commits that Flux applies, as the seed does (also DEMO_GITOPS=1)")
	flag.Parse()
	// The demo's clients need no log of their own; this keeps
	// controller-runtime from warning that none was set.
	ctrllog.SetLogger(logr.Discard())
	if err := run(*provider, *namespace, *fast, *gitOps, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(provider, namespace string, fast, gitOps bool, dir string) error {
	if dir == "" {
		root, err := cluster.RepoRoot()
		if err != nil {
			return err
		}
		dir = filepath.Join(root, ".demo")
	}
	if pids := demo.OthersUsing(dir); len(pids) > 0 {
		return fmt.Errorf("a demo already runs in %s (pids %v)", dir, pids)
	}
	// A stale state directory from an earlier run would confuse etcd.
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	timings := demo.SeedTimings
	if fast {
		timings = demo.FastTimings
	}
	return demo.Run(ctx, demo.Config{Provider: provider, Namespace: namespace, Timings: timings, Dir: dir, Out: os.Stdout, GitOps: gitOps})
}
