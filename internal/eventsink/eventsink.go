// Package eventsink writes the operator's Kubernetes events with several
// writers at once.
//
// client-go's recorder hands each event to its sink one at a time and drops
// the events that do not fit in its queue of 1,000, without a word. At 1,000
// canaries releasing at once, with the API server answering in tens of
// milliseconds, about 70 % of the events were lost that way (docs/scale.md).
// The Broadcaster here keeps client-go's recorder, its correlation and
// aggregation, and only changes the sink: a write is queued and returns at
// once, and a pool of writers sends the queue to the API server. The writes
// of one event (a creation, then the patches that count its repeats) go to
// one writer, in order. What does not fit in the queue is dropped and
// counted in the log.
package eventsink

import (
	"hash/fnv"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/record"
)

// Options size the writers.
type Options struct {
	// Writers is the number of concurrent writers.
	Writers int
	// Queue is how many writes may wait, over all writers.
	Queue int
	// Log receives the count of dropped events.
	Log logr.Logger
}

// Broadcaster is client-go's event broadcaster whose sink writes
// concurrently.
type Broadcaster struct {
	record.EventBroadcaster
	opts Options
}

// NewBroadcaster returns a Broadcaster with client-go's defaults but for
// the sink.
func NewBroadcaster(opts Options) *Broadcaster {
	return &Broadcaster{EventBroadcaster: record.NewBroadcaster(), opts: opts}
}

// StartRecordingToSink records to sink through the concurrent writers.
func (b *Broadcaster) StartRecordingToSink(sink record.EventSink) watch.Interface {
	return b.EventBroadcaster.StartRecordingToSink(NewSink(sink, b.opts))
}

type writeKind int

const (
	create writeKind = iota
	update
	patch
)

type write struct {
	kind  writeKind
	event *corev1.Event
	data  []byte
}

// Sink queues writes for its writers; it never blocks.
type Sink struct {
	next    record.EventSink
	queues  []chan write
	dropped atomic.Int64
	log     logr.Logger
}

// NewSink starts opts.Writers writers sending to next.
func NewSink(next record.EventSink, opts Options) *Sink {
	writers := max(opts.Writers, 1)
	perWriter := max(opts.Queue/writers, 1)
	s := &Sink{next: next, queues: make([]chan write, writers), log: opts.Log}
	for i := range s.queues {
		s.queues[i] = make(chan write, perWriter)
		go s.run(s.queues[i])
	}
	return s
}

// Create queues the creation of e and returns e as written: the recorder
// keeps it to aggregate repeats, which it then patches by e's name.
func (s *Sink) Create(e *corev1.Event) (*corev1.Event, error) {
	s.enqueue(write{kind: create, event: e.DeepCopy()})
	return e, nil
}

// Update queues an update of e.
func (s *Sink) Update(e *corev1.Event) (*corev1.Event, error) {
	s.enqueue(write{kind: update, event: e.DeepCopy()})
	return e, nil
}

// Patch queues a patch of e.
func (s *Sink) Patch(e *corev1.Event, data []byte) (*corev1.Event, error) {
	s.enqueue(write{kind: patch, event: e.DeepCopy(), data: data})
	return e, nil
}

// Dropped is how many writes did not fit in the queue.
func (s *Sink) Dropped() int64 { return s.dropped.Load() }

func (s *Sink) enqueue(w write) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(w.event.Namespace + "/" + w.event.Name))
	select {
	case s.queues[h.Sum32()%uint32(len(s.queues))] <- w:
	default:
		if n := s.dropped.Add(1); n == 1 || n%1000 == 0 {
			s.log.Info("Kubernetes events dropped: the event writers are behind", "dropped", n)
		}
	}
}

// maxTries bounds the attempts of a write the API server did not answer.
const maxTries = 3

func (s *Sink) run(q <-chan write) {
	for w := range q {
		for try := 1; ; try++ {
			err := s.send(w)
			if err == nil || isFinal(err) || try == maxTries {
				if err != nil {
					s.log.V(1).Info("Kubernetes event not written", "event", w.event.Name, "reason", w.event.Reason, "error", err.Error())
				}
				break
			}
			time.Sleep(time.Duration(try) * time.Second)
		}
	}
}

// send makes one write; a patch of an event that is gone creates it, as
// client-go's recorder does.
func (s *Sink) send(w write) error {
	var err error
	switch w.kind {
	case create:
		_, err = s.next.Create(w.event)
	case update:
		_, err = s.next.Update(w.event)
	case patch:
		if _, err = s.next.Patch(w.event, w.data); apierrors.IsNotFound(err) {
			w.event.ResourceVersion = ""
			_, err = s.next.Create(w.event)
		}
	}
	return err
}

// isFinal tells an answer of the API server, which a retry would not
// change, from a failure to reach it.
func isFinal(err error) bool {
	_, ok := err.(apierrors.APIStatus)
	return ok
}
