package notify

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// recordingSink records what it receives; hang makes it wait for its
// context instead.
type recordingSink struct {
	name string
	hang bool
	mu   sync.Mutex
	got  []string
	errs []error
	seen chan struct{}
}

func newSink(name string, hang bool) *recordingSink {
	return &recordingSink{name: name, hang: hang, seen: make(chan struct{}, 100)}
}

func (s *recordingSink) Kind() string { return "test" }
func (s *recordingSink) Name() string { return s.name }
func (s *recordingSink) Deliver(ctx context.Context, n Notification) error {
	var err error
	if s.hang {
		<-ctx.Done()
		err = ctx.Err()
	}
	s.mu.Lock()
	s.got = append(s.got, n.Message)
	s.errs = append(s.errs, err)
	s.mu.Unlock()
	s.seen <- struct{}{}
	return err
}

func (s *recordingSink) wait(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-s.seen:
		case <-time.After(10 * time.Second):
			t.Fatalf("sink %s: timed out waiting for a delivery", s.name)
		}
	}
}

type countingMetrics struct {
	mu                 sync.Mutex
	delivered, dropped map[string]int
	failed             int
}

func newMetrics() *countingMetrics {
	return &countingMetrics{delivered: map[string]int{}, dropped: map[string]int{}}
}

func (m *countingMetrics) Delivered(kind string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delivered[kind]++
	if err != nil {
		m.failed++
	}
}

func (m *countingMetrics) Dropped(kind string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropped[kind]++
}

func (m *countingMetrics) counts() (delivered, dropped, failed int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.delivered["test"], m.dropped["test"], m.failed
}

func start(t *testing.T, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// Notify returns at once even when nothing drains the queue: what does not
// fit is dropped and counted, never waited for.
func TestNotifyNeverBlocksAndCountsWhatItDrops(t *testing.T) {
	m := newMetrics()
	d := NewDispatcher(Options{QueueSize: 3, Metrics: m})
	sink := newSink("a", false)
	for range 10 {
		d.Notify(Notification{Message: "m"}, sink)
	}
	if _, dropped, _ := m.counts(); dropped != 7 {
		t.Errorf("%d dropped, want 7 of 10 with a queue of 3", dropped)
	}
	start(t, d)
	sink.wait(t, 3)
}

// A receiver that hangs is cut off at the delivery timeout and holds one
// worker meanwhile: the other sinks keep receiving.
func TestAHangingSinkDelaysNoOtherSink(t *testing.T) {
	m := newMetrics()
	d := NewDispatcher(Options{Workers: 2, Timeout: 2 * time.Second, Metrics: m})
	start(t, d)
	hanging, healthy := newSink("hanging", true), newSink("healthy", false)
	d.Notify(Notification{Message: "first"}, hanging, healthy)
	for _, msg := range []string{"second", "third"} {
		d.Notify(Notification{Message: msg}, healthy)
	}
	healthy.wait(t, 3)
	hanging.mu.Lock()
	pending := len(hanging.got)
	hanging.mu.Unlock()
	if pending != 0 {
		t.Fatalf("the hanging sink returned before its timeout")
	}
	hanging.wait(t, 1)
	if err := hanging.errs[0]; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the hanging delivery ended with %v, want the delivery timeout", err)
	}
	if delivered, dropped, failed := m.counts(); delivered != 4 || dropped != 0 || failed != 1 {
		t.Errorf("delivered %d, dropped %d, failed %d; want 4, 0, 1", delivered, dropped, failed)
	}
}

// Deliveries keep the order of Notify for one sink when one worker serves.
func TestOneWorkerDeliversInOrder(t *testing.T) {
	d := NewDispatcher(Options{Workers: 1})
	sink := newSink("a", false)
	for _, msg := range []string{"1", "2", "3"} {
		d.Notify(Notification{Message: msg}, sink)
	}
	start(t, d)
	sink.wait(t, 3)
	if got := sink.got; len(got) != 3 || got[0] != "1" || got[1] != "2" || got[2] != "3" {
		t.Errorf("deliveries %v, want 1 2 3", got)
	}
}

// Stopping drops what is still queued, counted, and returns.
func TestStoppingDropsWhatIsQueued(t *testing.T) {
	m := newMetrics()
	d := NewDispatcher(Options{Workers: 1, Metrics: m})
	hanging := newSink("hanging", true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Start(ctx); close(done) }()
	d.Notify(Notification{Message: "held"}, hanging)
	d.Notify(Notification{Message: "queued"}, hanging)
	d.Notify(Notification{Message: "queued"}, hanging)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return after its context ended")
	}
	delivered, dropped, _ := m.counts()
	if delivered+dropped != 3 {
		t.Errorf("delivered %d + dropped %d, want 3 accounted for", delivered, dropped)
	}
}
