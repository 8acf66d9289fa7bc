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
	// hangs holds one worker for at most Timeout, and the canaries of one
	// namespace hold at most half of the workers at once.
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
//
// Namespaces are tenants that do not trust each other: one whose canaries
// flood a receiver that never answers must not take every worker, or the
// other namespaces' rollback alerts would wait behind it (and then be
// dropped from a full queue). A delivery whose namespace already holds its
// share of the workers is parked and delivered when one of them finishes.
type Dispatcher struct {
	opts  Options
	queue chan delivery
	share int // workers one namespace may hold

	mu      sync.Mutex
	busy    map[string]int        // deliveries in progress by namespace
	parked  map[string][]delivery // waiting for their namespace's share
	nParked int
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
	return &Dispatcher{
		opts: opts, queue: make(chan delivery, opts.QueueSize), share: max(1, opts.Workers/2),
		busy: map[string]int{}, parked: map[string][]delivery{},
	}
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
	d.mu.Lock()
	for ns, parked := range d.parked {
		for _, dl := range parked {
			d.dropped(dl.sink, dl.n, "operator stopping")
		}
		delete(d.parked, ns)
	}
	d.nParked = 0
	d.mu.Unlock()
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
			next, ok := dl, d.claim(dl)
			for ok {
				if ctx.Err() != nil {
					d.dropped(next.sink, next.n, "operator stopping")
					break
				}
				d.deliver(ctx, next)
				next, ok = d.finish(next)
			}
		}
	}
}

// claim takes a worker's slot for dl's namespace, or parks dl when the
// namespace holds its share; a park beyond the queue's size is a drop.
func (d *Dispatcher) claim(dl delivery) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	ns := dl.n.Namespace
	if d.busy[ns] < d.share {
		d.busy[ns]++
		return true
	}
	if d.nParked >= d.opts.QueueSize {
		d.dropped(dl.sink, dl.n, "queue full")
		return false
	}
	d.parked[ns] = append(d.parked[ns], dl)
	d.nParked++
	return false
}

// finish gives up done's slot, or hands it to the next parked delivery of
// the same namespace, which the caller then delivers.
func (d *Dispatcher) finish(done delivery) (delivery, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ns := done.n.Namespace
	if parked := d.parked[ns]; len(parked) > 0 {
		next := parked[0]
		if len(parked) == 1 {
			delete(d.parked, ns)
		} else {
			d.parked[ns] = parked[1:]
		}
		d.nParked--
		return next, true
	}
	if d.busy[ns]--; d.busy[ns] == 0 {
		delete(d.busy, ns)
	}
	return delivery{}, false
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
