// Command scalebench measures the operator with N canaries on a local
// control plane (test/cluster): the time to initialize them all, the API
// requests it makes while they are idle and per release (from the API
// server's audit log, which records every request of the operator's user),
// how soon it detects a fleet-wide release, how late its analysis steps run
// while all N progress at once, its peak RSS and CPU time, and whether its
// client throttled itself. Results are printed as a docs/scale.md table row.
//
//	go run ./hack/scalebench -n 1000
//
// Each canary is provider kubernetes, blue/green with -iterations runs
// -interval apart, and no metrics or webhooks, so the operator alone is
// measured. With -profile DIR it also saves CPU profiles of the operator
// and the API server taken over the same part of the release, and the
// operator's heap after it (go tool pprof DIR/operator-cpu.pprof). The controller manager's and scheduler's client limits are
// raised (-control-plane-qps) so that pods come up at the API server's
// pace; kwok's client is not limited.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/serin-dev/serin/test/cluster"
	"github.com/serin-dev/serin/test/framework"
)

// options are the command line.
type options struct {
	n               int
	interval        time.Duration
	iterations      int
	controlPlaneQPS int
	idleWindow      int
	dir             string
	operatorFlags   string
	provider        string
	memoryLimit     string
	profileDir      string
	profileSeconds  int
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 100, "Number of Deployments and Canaries.")
	flag.DurationVar(&o.interval, "interval", 10*time.Second, "Analysis interval of every canary.")
	flag.IntVar(&o.iterations, "iterations", 2, "Blue/green iterations of every canary.")
	flag.IntVar(&o.controlPlaneQPS, "control-plane-qps", 1000, "Client QPS of the controller manager and scheduler (burst twice that); 0 keeps their defaults (20).")
	flag.IntVar(&o.idleWindow, "idle-intervals", 3, "Intervals over which idle API requests are counted.")
	flag.StringVar(&o.dir, "dir", "", "Directory for the cluster, logs and audit log; a temporary one, removed afterwards, when empty.")
	flag.StringVar(&o.operatorFlags, "operator-flags", "", "Extra operator flags, space-separated (e.g. -concurrency=16).")
	flag.StringVar(&o.provider, "provider", "kubernetes", "Provider of the canaries: kubernetes (blue/green, no routes) or gatewayapi:v1 (weighted HTTPRoutes, 25 then 50, and a second release rolled back by a failing rollout webhook, to time rollback → routes 100/0).")
	flag.StringVar(&o.memoryLimit, "operator-memory-limit", "", "GOMEMLIMIT of the operator (e.g. 120MiB), as a container memory limit gives it; none when empty.")
	flag.StringVar(&o.profileDir, "profile", "", "Directory for CPU profiles of the operator and the API server over the release's first -profile-seconds, and the operator's heap after it; none when empty.")
	flag.IntVar(&o.profileSeconds, "profile-seconds", 30, "Length of the CPU profiles.")
	flag.Parse()
	if o.provider != "kubernetes" && o.provider != gatewayProvider {
		fmt.Fprintf(os.Stderr, "scalebench: -provider %q: it must be kubernetes or %s\n", o.provider, gatewayProvider)
		os.Exit(2)
	}
	// The benchmark's clients log nothing worth reading among its figures.
	ctrllog.SetLogger(logr.Discard())
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
	defer cancel()
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "serin-scalebench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	logf("N=%d, interval %s, %d iterations; load at start: %s", o.n, o.interval, o.iterations, loadAverage())
	crds, err := framework.CRDPaths(root)
	if err != nil {
		return err
	}
	c, err := cluster.Start(ctx, cluster.Options{Dir: filepath.Join(dir, "cluster"), CRDPaths: crds, ControlPlaneQPS: o.controlPlaneQPS})
	if err != nil {
		return err
	}
	framework.StopOnSignal(c.Stop)
	defer c.Stop()
	bin := filepath.Join(dir, "serin")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "cmd", "serin")).CombinedOutput(); err != nil {
		return fmt.Errorf("build operator: %v\n%s", err, out)
	}
	f, err := newFleet(ctx, c, o)
	if err != nil {
		return err
	}
	res, err := f.measure(ctx, bin, filepath.Join(dir, "operator.log"))
	if err != nil {
		return err
	}
	res.loadStart = loadAverageAtStart
	res.loadEnd = loadAverage()
	res.print(os.Stdout, o)
	return nil
}

var loadAverageAtStart = loadAverage()

// loadAverage is the machine's 1, 5 and 15 minute load averages.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
