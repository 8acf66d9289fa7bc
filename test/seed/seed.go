// Package seed is the end-to-end test of the seed's user story
// (../../../shared/seed/canary-releases.md in the design notes; docs/demo.md
// here): the seed's namespace, podinfo 3.1.0 and v1alpha3 Canary; a
// promotion to 3.1.1 whose weights advance 5, 10 … 50 on the provider's
// routing object while the mesh emulator measures the share of load-test
// requests that reach canary pods; and a faulty 3.0.2 that halts on the
// errors and latency injected by hey and is rolled back after 5 failed
// checks. It plays demo.Scenario with FastTimings, so what `make demo`
// shows is what is tested.
//
// Main starts one demo.Stack per test package. App Mesh v1beta1 and
// v1beta2 share CRD names, so the v1beta1 provider is tested in the
// subpackage appmeshv1beta1 with its own cluster.
package seed

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/serin-dev/serin/test/demo"
	"github.com/serin-dev/serin/test/framework"
)

var stack *demo.Stack

// Main starts a stack whose cluster serves the App Mesh API appMesh
// (v1beta2 or v1beta1), runs the tests, stops everything and fails the
// run if a process of the stack had to be killed. Logs are kept when a
// test fails.
func Main(m *testing.M, name, appMesh string) int {
	return MainWith(m, name, demo.Options{AppMesh: appMesh})
}

// MainWith is Main with the stack's options (Dir and Log are set here):
// test/gitops plays the seed on a stack with Flux.
func MainWith(m *testing.M, name string, opts demo.Options) int {
	ctrllog.SetLogger(logr.Discard())
	dir, err := os.MkdirTemp("", "serin-"+name+"-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	logf := func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, "[%s %5.1fs] %s\n", name, time.Since(start).Seconds(), fmt.Sprintf(f, a...))
	}
	opts.Dir, opts.Log = dir, logf
	st, err := demo.Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "start the seed stack: %v\nlogs are kept in %s\n", err, dir)
		return 1
	}
	framework.StopOnSignal(func() { st.Stop() })
	stack = st
	code := m.Run()
	if killed := st.Stop(); len(killed) > 0 {
		fmt.Fprintf(os.Stderr, "processes were left behind and killed: %v\n", killed)
		code = 1
	}
	if code == 0 {
		_ = os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "logs of the failed run are kept in %s\n", dir)
	}
	return code
}

// Stack is the stack Main started.
func Stack() *demo.Stack { return stack }

// Namespace is the namespace of a provider's scenario: each provider has
// its own in a shared cluster.
func Namespace(provider string) string {
	return "seed-" + strings.NewReplacer(":", "-", ".", "-").Replace(provider)
}
