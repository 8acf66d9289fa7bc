package demo

import (
	"context"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/serin-dev/serin/test/emulator"
)

// Step is a time during which the routing object held one split, with the
// load test's requests that the emulator routed meanwhile.
type Step struct {
	Weights Weights
	Start   time.Time
	// End is when the split changed again, or when Steps was called.
	End time.Time
	// Traffic counts the requests to the apex host (the load test's) by
	// the pods that served them: canary or primary.
	Traffic emulator.Split
}

// Tracker watches the provider's routing object and cuts the emulator's
// traffic counts into steps at every change of the split.
type Tracker struct {
	sc     *Scenario
	onStep func(Step)
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	steps []Step
	// base is the apex traffic when the current step began.
	base emulator.Split
}

// Track starts a Tracker; onStep, if set, receives each step as it ends.
func (sc *Scenario) Track(ctx context.Context, onStep func(Step)) (*Tracker, error) {
	wc, err := client.NewWithWatch(sc.Stack.Cluster.Config, client.Options{Scheme: sc.Stack.Client.Scheme()})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	t := &Tracker{sc: sc, onStep: onStep, cancel: cancel, done: make(chan struct{})}
	go t.run(ctx, wc)
	return t, nil
}

// run re-opens the watch whenever the API server ends it.
func (t *Tracker) run(ctx context.Context, wc client.WithWatch) {
	defer close(t.done)
	ro := routingObjects[t.sc.Provider]
	for ctx.Err() == nil {
		w, err := wc.Watch(ctx, ro.list(), client.InNamespace(t.sc.Namespace))
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for ev := range w.ResultChan() {
			o, ok := ev.Object.(client.Object)
			if !ok || ev.Type == watch.Deleted || ev.Type == watch.Error || o.GetName() != ro.name(t.sc.Namespace) {
				continue
			}
			if wts, ok := ro.weights(o); ok {
				t.observe(ctx, wts)
			}
		}
		w.Stop()
	}
}

// observe starts a new step when the split changed.
func (t *Tracker) observe(ctx context.Context, w Weights) {
	t.mu.Lock()
	if n := len(t.steps); n > 0 && t.steps[n-1].Weights == w {
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	now := time.Now()
	split, err := t.traffic(ctx)
	if err != nil {
		return
	}
	t.mu.Lock()
	var ended *Step
	if n := len(t.steps); n > 0 {
		t.steps[n-1].End = now
		t.steps[n-1].Traffic = split.Sub(t.base)
		ended = &t.steps[n-1]
	}
	t.steps = append(t.steps, Step{Weights: w, Start: now})
	t.base = split
	var report Step
	if ended != nil {
		report = *ended
	}
	t.mu.Unlock()
	if ended != nil && t.onStep != nil {
		t.onStep(report)
	}
}

func (t *Tracker) traffic(ctx context.Context) (emulator.Split, error) {
	r, err := emulator.FetchReport(ctx, t.sc.Stack.EmulatorAdminURL)
	if err != nil {
		return emulator.Split{}, err
	}
	return r.Split(t.sc.Host()), nil
}

// Steps returns the steps so far; the current one ends now.
func (t *Tracker) Steps(ctx context.Context) []Step {
	now := time.Now()
	split, err := t.traffic(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	steps := slices.Clone(t.steps)
	if n := len(steps); n > 0 && err == nil {
		steps[n-1].End = now
		steps[n-1].Traffic = split.Sub(t.base)
	}
	return steps
}

// CanaryWeights returns the canary weights in the order the routing object
// carried them.
func (t *Tracker) CanaryWeights() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []int
	for _, s := range t.steps {
		if n := len(out); n == 0 || out[n-1] != s.Weights.Canary {
			out = append(out, s.Weights.Canary)
		}
	}
	return out
}

// Stop ends the watch.
func (t *Tracker) Stop() {
	t.cancel()
	<-t.done
}
