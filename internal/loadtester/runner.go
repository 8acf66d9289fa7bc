package loadtester

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

var (
	// ErrBusy means the concurrency limit is reached; the caller should retry later.
	ErrBusy = errors.New("too many commands running")
	// ErrStopped means the service is shutting down and starts nothing new.
	ErrStopped = errors.New("load tester is shutting down")
)

// maxOutputBytes bounds the output kept per command. hey's report is a few KiB; the bound only
// matters for a command that floods stdout, which must not exhaust the service's memory.
const maxOutputBytes = 256 << 10

// Result is the outcome of a command that ran.
type Result struct {
	// Output is the combined stdout and stderr, possibly truncated.
	Output string
	// Err is why the command failed (non-zero exit, timeout, shutdown); nil on success.
	Err error
}

// Runner runs tasks. It starts an async task only if no identical task is running for the same
// canary — the controller calls the load tester every interval with the same command, and the
// result must be one continuous stream of load, not a pile-up of generators. It also bounds
// how many commands run at once and stops them all on shutdown.
type Runner struct {
	exec          Executor
	metrics       *Metrics
	log           *slog.Logger
	maxConcurrent int

	// ctx is the parent of every command; cancelling it stops them all.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	active  map[string]bool // de-duplication keys of running async tasks
	running int
	stopped bool
}

// NewRunner returns a Runner that allows maxConcurrent commands at once.
func NewRunner(exec Executor, maxConcurrent int, metrics *Metrics, log *slog.Logger) *Runner {
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{exec: exec, metrics: metrics, log: log, maxConcurrent: maxConcurrent,
		ctx: ctx, cancel: cancel, active: map[string]bool{}}
}

// Start runs an async task in the background. It reports started=false, and runs nothing,
// when the same command is already running for the same canary.
func (r *Runner) Start(t Task) (started bool, err error) {
	path, err := r.exec.LookPath(t.Argv[0])
	if err != nil {
		return false, err
	}
	key := t.Canary + "\x00" + strings.Join(t.Argv, "\x00")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active[key] {
		r.metrics.skipped.Inc()
		return false, nil
	}
	if err := r.reserveLocked(); err != nil {
		return false, err
	}
	r.active[key] = true
	// Counted before replying, so the metric agrees with the 202 the caller receives.
	r.metrics.started.WithLabelValues(t.Type).Inc()
	go func() {
		defer r.release(key)
		r.execute(t, path)
	}()
	return true, nil
}

// Run runs a blocking task and waits for it. The error is about starting it (busy, shutting
// down, program missing); how the command itself fared is in the Result.
//
// The command is deliberately not tied to the HTTP request: a caller that gives up must not
// leave a half-applied kubectl or helm operation behind. The task timeout still bounds it.
func (r *Runner) Run(t Task) (Result, error) {
	path, err := r.exec.LookPath(t.Argv[0])
	if err != nil {
		return Result{}, err
	}
	r.mu.Lock()
	err = r.reserveLocked()
	r.mu.Unlock()
	if err != nil {
		return Result{}, err
	}
	defer r.release("")
	r.metrics.started.WithLabelValues(t.Type).Inc()
	return r.execute(t, path), nil
}

// Running returns the number of commands running now.
func (r *Runner) Running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running
}

// Shutdown stops accepting tasks, stops every running command (SIGTERM to its process group,
// SIGKILL after the grace period) and waits for them until ctx ends.
func (r *Runner) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.cancel()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for %d commands to stop: %w", r.Running(), ctx.Err())
	}
}

// reserveLocked takes a concurrency slot. wg.Add happens under the lock, after the stopped
// check, so Shutdown's Wait can never miss a command that is about to start.
func (r *Runner) reserveLocked() error {
	if r.stopped {
		return ErrStopped
	}
	if r.running >= r.maxConcurrent {
		return fmt.Errorf("%w: %d of %d allowed by --max-concurrent", ErrBusy, r.running, r.maxConcurrent)
	}
	r.running++
	r.metrics.running.Inc()
	r.wg.Add(1)
	return nil
}

func (r *Runner) release(key string) {
	r.mu.Lock()
	delete(r.active, key)
	r.running--
	r.mu.Unlock()
	r.metrics.running.Dec()
	r.wg.Done()
}

// execute runs the command under the task timeout and records the outcome.
func (r *Runner) execute(t Task, path string) Result {
	ctx, cancel := context.WithTimeout(r.ctx, t.Timeout)
	defer cancel()
	log := r.log.With("canary", t.Canary, "type", t.Type, "command", t.Argv)
	log.Info("Command started", "timeout", t.Timeout.String())

	out := newCappedBuffer(maxOutputBytes)
	began := time.Now()
	err := r.exec.Run(ctx, path, t.Argv[1:], out)
	switch {
	case err == nil:
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		err = fmt.Errorf("timed out after %s and was killed: %w", t.Timeout, err)
	case r.ctx.Err() != nil:
		err = fmt.Errorf("stopped because the load tester is shutting down: %w", err)
	}
	res := Result{Output: out.String(), Err: err}
	attrs := []any{"duration", time.Since(began).String()}
	if t.LogOutput || err != nil {
		attrs = append(attrs, "output", res.Output)
	}
	if err != nil {
		r.metrics.failed.WithLabelValues(t.Type).Inc()
		log.Error("Command failed", append(attrs, "error", err.Error())...)
		return res
	}
	log.Info("Command finished", attrs...)
	return res
}
