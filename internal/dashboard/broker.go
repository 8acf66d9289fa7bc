package dashboard

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Broker tells live streams which canaries changed. Publishing never
// blocks: each subscription keeps a set of changed canaries that its
// stream drains when it can, so a slow browser delays only itself.
type Broker struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// NewBroker returns a broker without subscriptions.
func NewBroker() *Broker { return &Broker{subs: map[*Subscription]struct{}{}} }

// maxDirty bounds a subscription's set of changed canaries; past it the
// stream treats everything as changed.
const maxDirty = 1024

// Subscription is one stream's view of the changes.
type Subscription struct {
	mu    sync.Mutex
	dirty map[string]struct{}
	all   bool
	wake  chan struct{}
}

// Subscribe starts receiving changes; call Unsubscribe when done.
func (b *Broker) Subscribe() *Subscription {
	s := &Subscription{dirty: map[string]struct{}{}, wake: make(chan struct{}, 1)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Unsubscribe stops s from receiving changes.
func (b *Broker) Unsubscribe(s *Subscription) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// Publish records that the canary namespace/name (or its events) changed.
func (b *Broker) Publish(namespace, name string) {
	key := namespace + "/" + name
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.mu.Lock()
		if len(s.dirty) >= maxDirty {
			s.all = true
		} else {
			s.dirty[key] = struct{}{}
		}
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Wake is signalled after changes were published.
func (s *Subscription) Wake() <-chan struct{} { return s.wake }

// Changed takes the changes published since the last call: the canaries'
// keys (namespace/name), or all=true when too many changed to list.
func (s *Subscription) Changed() (keys map[string]struct{}, all bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys, all = s.dirty, s.all
	s.dirty, s.all = map[string]struct{}{}, false
	return keys, all
}

// Feed publishes every change the informers see to canaries and to events
// about canaries.
func (b *Broker) Feed(ctx context.Context, informers cache.Informers) error {
	for _, obj := range []client.Object{&flaggerv1.Canary{}, &corev1.Event{}} {
		inf, err := informers.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("watch %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    b.publishObject,
			UpdateFunc: func(_, o any) { b.publishObject(o) },
			DeleteFunc: b.publishObject,
		}); err != nil {
			return fmt.Errorf("watch %T: %w", obj, err)
		}
	}
	return nil
}

// publishObject publishes the canary that an object is, or is about.
func (b *Broker) publishObject(o any) {
	if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	switch v := o.(type) {
	case *flaggerv1.Canary:
		b.Publish(v.Namespace, v.Name)
	case *corev1.Event:
		if v.InvolvedObject.Kind == "Canary" {
			b.Publish(v.InvolvedObject.Namespace, v.InvolvedObject.Name)
		}
	}
}
