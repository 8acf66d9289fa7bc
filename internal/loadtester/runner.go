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
// result must be one continuous stream of load, not a pile-up of generators. A blocking task
// identical to one running is not started again either: the second caller waits for the same
// run. It bounds how many commands run at once, in all and per namespace, and stops them all
// on shutdown.
type Runner struct {
	exec    Executor
	metrics *Metrics
	log     *slog.Logger
	limits  RunLimits

	// ctx is the parent of every command; cancelling it stops them all.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex
	active      map[string]bool    // de-duplication keys of running async tasks
	flights     map[string]*flight // running blocking tasks, by de-duplication key
	running     int
	byNamespace map[string]int
	stopped     bool
}

// RunLimits bound the commands running at once.
type RunLimits struct {
	// MaxConcurrent is the most commands running at once.
	MaxConcurrent int
	// MaxPerNamespace is the most commands running at once for the canaries of one namespace,
	// so that one team cannot take every slot.
	MaxPerNamespace int
}

// flight is a blocking command and the callers waiting for it.
type flight struct {
	done    chan struct{}
	result  Result
	waiters int
	cancel  context.CancelFunc
}

// NewRunner returns a Runner within limits.
func NewRunner(exec Executor, limits RunLimits, metrics *Metrics, log *slog.Logger) *Runner {
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{exec: exec, metrics: metrics, log: log, limits: limits, ctx: ctx, cancel: cancel,
		active: map[string]bool{}, flights: map[string]*flight{}, byNamespace: map[string]int{}}
}

// key identifies identical tasks: the same command line for the same canary.
func (t Task) key() string {
	return t.Canary + "\x00" + t.Type + "\x00" + strings.Join(t.Argv, "\x00")
}

// Start runs an async task in the background. It reports started=false, and runs nothing,
// when the same command is already running for the same canary.
func (r *Runner) Start(t Task) (started bool, err error) {
	path, err := r.exec.LookPath(t.Argv[0])
	if err != nil {
		return false, err
	}
	key := t.key()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active[key] {
		r.metrics.skipped.Inc()
		return false, nil
	}
	if err := r.reserveLocked(t.Namespace); err != nil {
		return false, err
	}
	r.active[key] = true
	// Counted before replying, so the metric agrees with the 202 the caller receives.
	r.metrics.started.WithLabelValues(t.Type).Inc()
	go func() {
		defer r.release(t.Namespace)
		r.execute(r.ctx, t, path)
		r.mu.Lock()
		delete(r.active, key)
		r.mu.Unlock()
	}()
	return true, nil
}

// Run runs a blocking task and waits for it, or joins the identical task already running. The
// error is about starting it (busy, shutting down, program missing) or about the caller giving
// up (ctx); how the command itself fared is in the Result.
//
// When every caller waiting for a command has given up (the controller's webhook timeout, a
// disconnect), the command is stopped: nobody would read its result, and a retry of the same
// call joins a new run instead of queueing behind an abandoned one.
func (r *Runner) Run(ctx context.Context, t Task) (Result, error) {
	path, err := r.exec.LookPath(t.Argv[0])
	if err != nil {
		return Result{}, err
	}
	key := t.key()
	r.mu.Lock()
	f, joined := r.flights[key]
	if !joined {
		if err := r.reserveLocked(t.Namespace); err != nil {
			r.mu.Unlock()
			return Result{}, err
		}
		f = r.launchLocked(key, t, path)
	} else {
		r.metrics.skipped.Inc()
	}
	f.waiters++
	r.mu.Unlock()
	select {
	case <-f.done:
		return f.result, nil
	case <-ctx.Done():
		r.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			if r.flights[key] == f {
				delete(r.flights, key)
			}
		}
		r.mu.Unlock()
		return Result{}, fmt.Errorf("the caller gave up: %w", ctx.Err())
	}
}

// launchLocked starts a blocking command in the background; its callers wait on the flight.
func (r *Runner) launchLocked(key string, t Task, path string) *flight {
	ctx, cancel := context.WithCancel(r.ctx)
	f := &flight{done: make(chan struct{}), cancel: cancel}
	r.flights[key] = f
	r.metrics.started.WithLabelValues(t.Type).Inc()
	go func() {
		defer r.release(t.Namespace)
		f.result = r.execute(ctx, t, path)
		cancel()
		r.mu.Lock()
		if r.flights[key] == f {
			delete(r.flights, key)
		}
		r.mu.Unlock()
		close(f.done)
	}()
	return f
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

// reserveLocked takes a concurrency slot of namespace. wg.Add happens under the lock, after
// the stopped check, so Shutdown's Wait can never miss a command that is about to start.
func (r *Runner) reserveLocked(namespace string) error {
	if r.stopped {
		return ErrStopped
	}
	if r.running >= r.limits.MaxConcurrent {
		return fmt.Errorf("%w: %d of %d allowed by --max-concurrent", ErrBusy, r.running, r.limits.MaxConcurrent)
	}
	if n := r.byNamespace[namespace]; n >= r.limits.MaxPerNamespace {
		return fmt.Errorf("%w: %d for namespace %s, of %d allowed by --max-concurrent-per-namespace",
			ErrBusy, n, namespace, r.limits.MaxPerNamespace)
	}
	r.running++
	r.byNamespace[namespace]++
	r.metrics.running.Inc()
	r.wg.Add(1)
	return nil
}

func (r *Runner) release(namespace string) {
	r.mu.Lock()
	r.running--
	if r.byNamespace[namespace]--; r.byNamespace[namespace] <= 0 {
		delete(r.byNamespace, namespace)
	}
	r.mu.Unlock()
	r.metrics.running.Dec()
	r.wg.Done()
}

// execute runs the command under the task timeout, as a child of parent, and records the
// outcome.
func (r *Runner) execute(parent context.Context, t Task, path string) Result {
	ctx, cancel := context.WithTimeout(parent, t.Timeout)
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
	case parent.Err() != nil:
		err = fmt.Errorf("stopped because every caller gave up waiting: %w", err)
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
