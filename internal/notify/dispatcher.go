package notify

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Defaults of Options.
const (
	DefaultQueueSize = 1024
	DefaultWorkers   = 8
	DefaultTimeout   = 15 * time.Second
)

// Options bound a Dispatcher.
type Options struct {
	// QueueSize is how many deliveries may wait; DefaultQueueSize when 0.
	QueueSize int
	// Workers deliver concurrently; DefaultWorkers when 0. A receiver that
	// hangs holds one worker for at most Timeout.
	Workers int
	// Timeout bounds each delivery; DefaultTimeout when 0.
	Timeout time.Duration
	// Metrics counts deliveries; none when nil.
	Metrics Metrics
	// Log receives dropped and failed deliveries; discarded when zero.
	Log logr.Logger
}

// Metrics counts what happens to deliveries, by sink kind.
type Metrics interface {
	// Delivered counts a delivery that was attempted; err is its outcome.
	Delivered(kind string, err error)
	// Dropped counts a delivery that was never attempted: the queue was
	// full or the dispatcher stopped first.
	Dropped(kind string)
}

// delivery is one notification for one sink.
type delivery struct {
	sink Sink
	n    Notification
}

// Dispatcher queues notifications and delivers them in the background. It
// is a controller-runtime Runnable; Notify before Start queues.
type Dispatcher struct {
	opts  Options
	queue chan delivery
}

// NewDispatcher returns a dispatcher with opts, defaults filled in.
func NewDispatcher(opts Options) *Dispatcher {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Dispatcher{opts: opts, queue: make(chan delivery, opts.QueueSize)}
}

// Notify queues n for each sink and returns at once. When the queue is
// full the delivery is dropped, counted and logged: a notification is
// never worth delaying a release.
func (d *Dispatcher) Notify(n Notification, sinks ...Sink) {
	for _, s := range sinks {
		select {
		case d.queue <- delivery{sink: s, n: n}:
		default:
			d.dropped(s, n, "queue full")
		}
	}
}

// Start delivers until ctx is done; what is still queued then is dropped.
func (d *Dispatcher) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	for range d.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.work(ctx)
		}()
	}
	wg.Wait()
	for {
		select {
		case dl := <-d.queue:
			d.dropped(dl.sink, dl.n, "operator stopping")
		default:
			return nil
		}
	}
}

// NeedLeaderElection is false: every replica delivers what it queued.
func (d *Dispatcher) NeedLeaderElection() bool { return false }

func (d *Dispatcher) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case dl := <-d.queue:
			d.deliver(ctx, dl)
		}
	}
}

func (d *Dispatcher) deliver(ctx context.Context, dl delivery) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	err := dl.sink.Deliver(ctx, dl.n)
	if d.opts.Metrics != nil {
		d.opts.Metrics.Delivered(dl.sink.Kind(), err)
	}
	if err != nil {
		d.opts.Log.Info("Notification not delivered", "sink", dl.sink.Name(), "kind", dl.sink.Kind(),
			"canary", dl.n.Name+"."+dl.n.Namespace, "reason", dl.n.Reason, "error", err.Error())
	}
}

func (d *Dispatcher) dropped(s Sink, n Notification, why string) {
	if d.opts.Metrics != nil {
		d.opts.Metrics.Dropped(s.Kind())
	}
	d.opts.Log.Info("Notification dropped", "why", why, "sink", s.Name(), "kind", s.Kind(),
		"canary", n.Name+"."+n.Namespace, "reason", n.Reason)
}
