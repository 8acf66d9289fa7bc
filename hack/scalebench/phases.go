package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// measure starts the operator, creates the canaries and takes the fleet
// through initialization, an idle period and one fleet-wide release.
func (f *fleet) measure(ctx context.Context, bin, logPath string) (*results, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rec := f.record(ctx)
	prof, profFlags, err := newProfiler(f.o, f.c.Config)
	if err != nil {
		return nil, err
	}
	flags := append(append([]string{"-log-level=info"}, profFlags...), strings.Fields(f.o.operatorFlags)...)
	if f.o.memoryLimit != "" {
		// Read by the operator's runtime at its start; this process
		// read its own long before.
		os.Setenv("GOMEMLIMIT", f.o.memoryLimit)
	}
	op, err := framework.RunOperator(bin, f.c.OperatorKubeconfig, logPath, flags...)
	os.Unsetenv("GOMEMLIMIT")
	if err != nil {
		return nil, err
	}
	defer op.Kill()
	res := &results{}

	start := time.Now()
	if err := f.each(ctx, func(i int) error { return f.cl.Create(ctx, f.canary(i)) }); err != nil {
		return nil, fmt.Errorf("create canaries: %w", err)
	}
	err = waitFor(ctx, "canaries initialized", func() (int, error) {
		return rec.count(func(s state) bool { return s.phase == flaggerv1.CanaryPhaseInitialized }), nil
	}, f.o.n)
	if err != nil {
		return nil, err
	}
	res.initialize = time.Since(start)
	logf("%d canaries initialized in %s", f.o.n, res.initialize.Round(time.Second))

	if err := f.idle(ctx, op, res); err != nil {
		return nil, err
	}

	before, err := f.operatorRequests()
	if err != nil {
		return nil, err
	}
	lateBefore, err := stepLateness(ctx, op)
	if err != nil {
		return nil, err
	}
	start = time.Now()
	profiled := prof.cpu(ctx)
	rel, err := f.release(ctx, "2")
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	logf("%d targets patched in %s", f.o.n, time.Since(start).Round(time.Millisecond))
	err = waitFor(ctx, "canaries promoted or rolled back", func() (int, error) {
		return rec.count(func(s state) bool {
			return s.phase == flaggerv1.CanaryPhaseSucceeded || s.phase == flaggerv1.CanaryPhaseFailed
		}), nil
	}, f.o.n)
	if err != nil {
		return nil, err
	}
	res.released = time.Since(start)
	profiled()
	prof.heap(ctx)
	res.failed = rec.count(func(s state) bool { return s.phase == flaggerv1.CanaryPhaseFailed })
	if err := waitSettled(ctx, op); err != nil {
		return nil, err
	}
	reqs, err := f.c.OperatorRequests()
	if err != nil {
		return nil, err
	}
	if before > len(reqs) {
		return nil, fmt.Errorf("audit log has %d operator requests, %d before the release", len(reqs), before)
	}
	res.releaseRequest = len(reqs) - before
	res.perRelease = float64(res.releaseRequest) / float64(f.o.n)
	res.releaseMix = requestMix(reqs[before:], f.o.n)
	res.release = rec.analyse(rel.written, rel.hashes, f.o.interval)
	res.breakdown.patch = rel.took
	res.breakdown.operatorShare(reqs[before:], rel.written)
	late, err := stepLateness(ctx, op)
	if err != nil {
		return nil, err
	}
	res.breakdown.lateness = since(late, lateBefore)
	if f.gate != nil {
		if res.rollback, err = f.rollBack(ctx, op, rec, &res.breakdown); err != nil {
			return nil, err
		}
	}
	res.peakRSS, res.cpuSeconds, err = process(op.Pid())
	res.throttled = throttlingMessages(op)
	return res, err
}

// idle counts the operator's requests over idleWindow intervals once it
// has nothing left to do for the initialized canaries.
func (f *fleet) idle(ctx context.Context, op *framework.Operator, res *results) error {
	if err := waitSettled(ctx, op); err != nil {
		return err
	}
	before, err := f.quiet(ctx)
	if err != nil {
		return err
	}
	window := time.Duration(f.o.idleWindow) * f.o.interval
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(window):
	}
	after, err := f.operatorRequests()
	if err != nil {
		return err
	}
	res.idleRequests = after - before
	res.idlePerCanaryPerInterval = float64(after-before) / float64(f.o.n) / float64(f.o.idleWindow)
	logf("idle: %d operator requests in %s", after-before, window)
	return nil
}

// quiet waits until a whole interval passes without an operator request,
// for at most quietIntervals, and returns the count then: the
// initialization's events are sent by client-go's recorder in the
// background, after the work queue is empty (at N=1000, 475 of them in the
// 30 s after the last canary was initialized), and belong to the
// initialization, not to idling. An operator that never goes quiet is
// measured as it is.
func (f *fleet) quiet(ctx context.Context) (int, error) {
	last, err := f.operatorRequests()
	if err != nil {
		return 0, err
	}
	for i := range quietIntervals {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(f.o.interval):
		}
		n, err := f.operatorRequests()
		if err != nil {
			return 0, err
		}
		if n == last {
			logf("operator quiet after %d intervals", i+1)
			return n, nil
		}
		logf("operator not quiet yet: %d requests in an interval", n-last)
		last = n
	}
	return last, nil
}

// quietIntervals bounds the wait for a quiet operator.
const quietIntervals = 12

// waitSettled waits until the operator has nothing queued or in flight.
func waitSettled(ctx context.Context, op *framework.Operator) error {
	for {
		ok, why := op.Settled(ctx)
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("operator never settled: %s", why)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// rollBack releases a third revision whose gate fails at each canary's
// second step, and times each rollback's routes.
func (f *fleet) rollBack(ctx context.Context, op *framework.Operator, rec *recorder, b *breakdown) ([]time.Duration, error) {
	f.gate.failFromNow()
	start := time.Now()
	rel, err := f.release(ctx, "3")
	if err != nil {
		return nil, fmt.Errorf("release to roll back: %w", err)
	}
	err = waitFor(ctx, "canaries rolled back", func() (int, error) {
		return rec.count(func(s state) bool { return s.phase == flaggerv1.CanaryPhaseFailed }), nil
	}, f.o.n)
	if err != nil {
		return nil, err
	}
	logf("%d releases rolled back in %s", f.o.n, time.Since(start).Round(time.Second))
	// The last route writes follow the last Failed status.
	if err := waitSettled(ctx, op); err != nil {
		return nil, err
	}
	return f.rollbackLatencies(rec, rel.hashes, start, b)
}
