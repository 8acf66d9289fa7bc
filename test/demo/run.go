// Package demo plays the seed's user story (docs/demo.md) on a local stack:
// the control plane, the operator, the mesh data-plane emulator in front of
// a podinfo backend, Prometheus and the load tester running hey. `make
// demo` runs it with a live view; the end-to-end tests in test/seed run the
// same Scenario and assert on its Outcomes.
package demo

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Config configures Run.
type Config struct {
	// Provider is the operator's --mesh-provider: appmesh:v1beta2,
	// appmesh, gatewayapi:v1, istio or linkerd.
	Provider string
	// Namespace is the application's namespace (the seed uses test and
	// prod).
	Namespace string
	Timings   Timings
	// Dir keeps the stack's binaries, state and logs.
	Dir string
	Out io.Writer
	// GitOps plays the seed through git commits that Flux applies.
	GitOps bool
}

// AppMeshAPI is the App Mesh version a cluster needs for provider.
func AppMeshAPI(provider string) string {
	if provider == "appmesh" {
		return "v1beta1"
	}
	return "v1beta2"
}

// Run plays bootstrap, promotion and rollback, then prints a summary.
func Run(ctx context.Context, cfg Config) error {
	v := newView(cfg.Out)
	v.section(fmt.Sprintf("Serin demo: the seed's canary releases with provider %s in namespace %s (interval %s, metrics over %s)",
		cfg.Provider, cfg.Namespace, cfg.Timings.Interval, cfg.Timings.MetricInterval))
	stack, err := Start(ctx, Options{Dir: cfg.Dir, AppMesh: AppMeshAPI(cfg.Provider), GitOps: cfg.GitOps, Log: func(f string, a ...any) { v.line("demo", f, a...) }})
	defer func() {
		if stack != nil {
			if killed := stack.Stop(); len(killed) > 0 {
				v.line("demo", "had to kill leftover processes %v", killed)
			}
		}
	}()
	if err != nil {
		return err
	}
	sc := &Scenario{Stack: stack, Provider: cfg.Provider, Namespace: cfg.Namespace, Timings: cfg.Timings}
	if cfg.GitOps {
		sc.GitOps = &GitOps{OnEvent: func(source, line string) { v.line(source, "%s", line) }}
	}
	outcomes, err := play(ctx, v, sc)
	if err != nil {
		v.line("demo", "FAILED: %v", err)
		v.line("demo", "logs are kept in %s", filepath.Join(cfg.Dir, "logs"))
		return err
	}
	summarize(cfg.Out, sc, outcomes)
	fmt.Fprintf(cfg.Out, "\nlogs of every component: %s (kept until the next run)\n", filepath.Join(cfg.Dir, "logs"))
	return nil
}

// play runs the three parts of the seed with the live view.
func play(ctx context.Context, v *view, sc *Scenario) ([]Outcome, error) {
	v.section("1. Application bootstrap")
	if sc.GitOps != nil {
		v.line("demo", "git repository %s, synced by a Flux GitRepository and Kustomization %s/%s: Namespace %s, Deployment podinfo (%s:%s, no replicas in git), then Canary podinfo (flagger.app/v1alpha3)",
			sc.Stack.Git.URL, "flux-system", sc.Namespace, sc.Namespace, Image, TagFirst)
	} else {
		v.line("demo", "kubectl apply: Namespace %s (App Mesh injection label), Deployment podinfo (%s:%s), Canary podinfo (flagger.app/v1alpha3)", sc.Namespace, Image, TagFirst)
	}
	v.line("demo", "operator: serin --mesh-provider=%s --namespace=%s --metrics-server=%s", sc.Provider, sc.Namespace, sc.Stack.Prometheus.URL)
	if err := sc.Bootstrap(ctx); err != nil {
		return nil, err
	}
	f, stop := v.follow(ctx, sc)
	defer stop()
	if _, err := sc.WaitPhase(ctx, flaggerv1.CanaryPhaseInitialized, time.Minute); err != nil {
		return nil, err
	}
	f.poll(ctx)
	v.section(fmt.Sprintf("2. Automated canary promotion: podinfo %s -> %s, load test: hey -q %d -c 2 -host %s:9898", TagFirst, TagGood, sc.Timings.LoadQPS, sc.Host()))
	good, err := sc.Promote(ctx, v.step)
	if err != nil {
		return nil, fmt.Errorf("promotion of %s: %w", TagGood, err)
	}
	f.poll(ctx)
	v.line("demo", "primary runs %s; GET /version via %s answers %s", good.Final.PrimaryImage, sc.Host(), good.Final.Version)
	v.section(fmt.Sprintf("3. Automated rollback: podinfo %s -> %s, faults injected from canary weight %d", TagGood, TagFaulty, FaultWeight))
	bad, err := sc.Rollback(ctx, v.step, func(cmd string) {
		v.line("demo", "load tester runs (the seed's exec into the tester pod): %s", cmd)
	})
	if err != nil {
		return nil, fmt.Errorf("rollback of %s: %w", TagFaulty, err)
	}
	f.poll(ctx)
	v.line("demo", "primary still runs %s; canary pods served %d requests in the %s after the rollback", bad.Final.PrimaryImage, bad.CanaryRequestsAfter, sc.Timings.Interval)
	return []Outcome{good, bad}, nil
}
