// Command localcluster starts and stops the local control plane from the
// shell: `localcluster up DIR` starts it in the background and prints
// KUBECONFIG=<path> as its last line; `localcluster down DIR` stops it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/serin-dev/serin/test/cluster"
)

func main() {
	if len(os.Args) != 3 || (os.Args[1] != "up" && os.Args[1] != "down") {
		fmt.Fprintln(os.Stderr, "usage: localcluster up|down DIR")
		os.Exit(2)
	}
	dir, err := filepath.Abs(os.Args[2])
	if err == nil {
		if os.Args[1] == "up" {
			err = up(dir)
		} else {
			err = cluster.StopDir(dir)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
}

func up(dir string) error {
	if running := cluster.RunningComponents(dir); len(running) > 0 {
		return fmt.Errorf("a cluster already runs in %s (%v); run make cluster-down first", dir, running)
	}
	// A stale state directory from an earlier cluster would confuse etcd.
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	c, err := cluster.Start(ctx, cluster.Options{
		Dir:      dir,
		Detached: true,
		CRDPaths: cluster.CRDPaths(root),
		Log:      func(f string, a ...any) { fmt.Fprintf(os.Stderr, "[cluster] "+f+"\n", a...) },
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "[cluster] up in %.1f s; logs in %s; kubectl is %s\n",
		time.Since(start).Seconds(), filepath.Join(dir, "logs"), c.Binaries.Kubectl)
	fmt.Printf("KUBECONFIG=%s\n", c.Kubeconfig)
	return nil
}
