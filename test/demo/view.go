package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// view prints the demo's live output: one line per event, stamped with the
// time since the demo began and the source it came from.
type view struct {
	out   io.Writer
	start time.Time
	mu    sync.Mutex
}

func newView(out io.Writer) *view { return &view{out: out, start: time.Now()} }

// line prints text from source; each line of a multi-line text gets the
// same stamp.
func (v *view) line(source, format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	stamp := fmt.Sprintf("[%6.1fs] %-7s ", time.Since(v.start).Seconds(), source)
	for _, l := range strings.Split(strings.TrimRight(fmt.Sprintf(format, args...), "\n"), "\n") {
		fmt.Fprintln(v.out, stamp+l)
	}
}

func (v *view) section(title string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprintf(v.out, "\n== %s ==\n", title)
}

// follower prints what `watch kubectl get canaries` would show whenever
// the canary's phase, weight or failed checks change, and the operator's
// messages about it as they are logged (the seed's `logs … | jq .msg`).
type follower struct {
	v  *view
	sc *Scenario

	mu         sync.Mutex
	seen       int
	lastStatus string
	lastTable  string
}

// follow starts a follower that polls until stop is called.
func (v *view) follow(ctx context.Context, sc *Scenario) (f *follower, stop func()) {
	f = &follower{v: v, sc: sc}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			f.poll(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return f, func() { cancel(); <-done }
}

// poll prints what changed since the last poll; the demo also calls it
// before a new section so that each section's lines stay in it.
func (f *follower) poll(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	msgs := Messages(f.sc.Operator, "podinfo."+f.sc.Namespace)
	for _, m := range msgs[min(f.seen, len(msgs)):] {
		f.v.line("serin", "%s", m.Text)
	}
	f.seen = len(msgs)
	c, err := f.sc.Canary(ctx)
	if err != nil {
		return
	}
	// kubectl only when the status moved, printed only when its columns
	// did.
	status := fmt.Sprintf("%s/%d/%d", c.Status.Phase, c.Status.CanaryWeight, c.Status.FailedChecks)
	if status != f.lastStatus {
		f.lastStatus = status
		f.lastTable = f.v.canaryTable(ctx, f.sc, f.lastTable)
	}
}

// canaryTable prints `kubectl get canaries` unless its rows are those of
// last, the previous output (the header only the first time), and returns
// what it printed.
func (v *view) canaryTable(ctx context.Context, sc *Scenario, last string) string {
	out, err := sc.Stack.Kubectl(ctx, "-n", sc.Namespace, "get", "canaries")
	if err != nil {
		if ctx.Err() == nil {
			v.line("kubectl", "%v", err)
		}
		return last
	}
	if out == last {
		return last
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if last != "" && len(lines) > 1 {
		lines = lines[1:]
	}
	v.line("kubectl", "%s", strings.Join(lines, "\n"))
	return out
}

// step prints a finished step of the split with its measured traffic.
func (v *view) step(s Step) {
	t := s.Traffic
	v.line("mesh", "routes %-6s for %4.1fs: %4d load-test requests, %3d on canary pods (%.1f%%)",
		s.Weights, s.End.Sub(s.Start).Seconds(), t.Total(), t.Canary, t.CanaryPercent())
}
