package eventsink

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/scheme"
)

// slowSink is an API server that takes latency per write and keeps what
// it was sent.
type slowSink struct {
	latency time.Duration
	mu      sync.Mutex
	stored  map[string]*corev1.Event
	writes  []string
}

func newSlowSink(latency time.Duration) *slowSink {
	return &slowSink{latency: latency, stored: map[string]*corev1.Event{}}
}

func (s *slowSink) Create(e *corev1.Event) (*corev1.Event, error) {
	time.Sleep(s.latency)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stored[e.Name] = e.DeepCopy()
	s.writes = append(s.writes, "create "+e.Name)
	return e, nil
}

func (s *slowSink) Update(e *corev1.Event) (*corev1.Event, error) { return s.Create(e) }

func (s *slowSink) Patch(e *corev1.Event, _ []byte) (*corev1.Event, error) {
	time.Sleep(s.latency)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.stored[e.Name]; !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "events"}, e.Name)
	}
	s.stored[e.Name] = e.DeepCopy()
	s.writes = append(s.writes, fmt.Sprintf("patch %s count %d", e.Name, e.Count))
	return e, nil
}

func (s *slowSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.stored)
}

func (s *slowSink) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.writes)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 30*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// A fleet-wide release records thousands of events within seconds, while
// the API server answers each write in tens of milliseconds. client-go's
// recorder calls its sink for one event at a time and drops what does not
// fit in its queue of 1,000 behind it; the sink answers at once and its
// writers send the burst in full.
func TestABurstOfEventsIsWrittenInFullWithoutHoldingTheRecorder(t *testing.T) {
	const n = 3000
	sink := newSlowSink(2 * time.Millisecond)
	s := NewSink(sink, Options{Writers: 16, Queue: 10000, Log: logr.Discard()})
	for i := range n {
		e := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app-%d.1", i), Namespace: "bench"}, Count: 1}
		if _, err := s.Create(e); err != nil {
			t.Fatal(err)
		}
	}
	if got := sink.count(); got == n {
		t.Errorf("all %d writes answered before Create returned: the sink held the recorder", n)
	}
	waitFor(t, fmt.Sprintf("%d events written", n), func() bool { return sink.count() == n })
	if got := s.Dropped(); got != 0 {
		t.Errorf("%d writes dropped, want none", got)
	}
}

// The Broadcaster records through the concurrent sink: the recorder's
// events reach the API server.
func TestTheBroadcasterRecordsThroughTheSink(t *testing.T) {
	sink := newSlowSink(0)
	b := NewBroadcaster(Options{Writers: 4, Queue: 100, Log: logr.Discard()})
	defer b.Shutdown()
	b.StartRecordingToSink(sink)
	rec := b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "serin"})
	for i := range 10 {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app-%d", i), Namespace: "bench"}}
		rec.Eventf(pod, corev1.EventTypeNormal, "Synced", "Advance app-%d.bench canary weight 25", i)
	}
	waitFor(t, "10 events written", func() bool { return sink.count() == 10 })
}

// The patches that count an event's repeats follow its creation, in order,
// although creation is queued: they go to the same writer.
func TestRepeatsOfAnEventArePatchedAfterItsCreation(t *testing.T) {
	sink := newSlowSink(time.Millisecond)
	s := NewSink(sink, Options{Writers: 8, Queue: 100, Log: logr.Discard()})
	e := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "podinfo.1", Namespace: "test"}, Count: 1}
	if _, err := s.Create(e); err != nil {
		t.Fatal(err)
	}
	for c := int32(2); c <= 4; c++ {
		again := e.DeepCopy()
		again.Count = c
		if _, err := s.Patch(again, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"create podinfo.1", "patch podinfo.1 count 2", "patch podinfo.1 count 3", "patch podinfo.1 count 4"}
	waitFor(t, "the creation and three patches", func() bool { return len(sink.log()) == len(want) })
	if got := sink.log(); !slices.Equal(got, want) {
		t.Errorf("writes %q, want %q", got, want)
	}
}

// A patch of an event the API server no longer has creates it, as
// client-go's recorder does.
func TestAPatchOfAMissingEventCreatesIt(t *testing.T) {
	sink := newSlowSink(0)
	s := NewSink(sink, Options{Writers: 1, Queue: 10, Log: logr.Discard()})
	e := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "gone.1", Namespace: "test", ResourceVersion: "7"}, Count: 5}
	if _, err := s.Patch(e, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event created", func() bool { return sink.count() == 1 })
	if got := sink.log(); !slices.Equal(got, []string{"create gone.1"}) {
		t.Errorf("writes %q, want the creation", got)
	}
}

// blockedSink never answers until released; entered says a write reached
// it.
type blockedSink struct {
	*slowSink
	entered chan struct{}
	release chan struct{}
}

func (b blockedSink) Create(e *corev1.Event) (*corev1.Event, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.slowSink.Create(e)
}

// Writes that do not fit in the queue are dropped and counted, and the
// recorder is never held up.
func TestWritesBeyondTheQueueAreDroppedAndCounted(t *testing.T) {
	sink := blockedSink{slowSink: newSlowSink(0), entered: make(chan struct{}, 5), release: make(chan struct{})}
	s := NewSink(sink, Options{Writers: 1, Queue: 2, Log: logr.Discard()})
	for i := range 5 {
		if _, err := s.Create(&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("e.%d", i), Namespace: "test"}}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			<-sink.entered
		}
	}
	// One write is with the writer, two wait in the queue.
	if got := s.Dropped(); got != 2 {
		t.Errorf("%d writes dropped, want 2", got)
	}
	close(sink.release)
	waitFor(t, "the three kept writes", func() bool { return sink.count() == 3 })
}
