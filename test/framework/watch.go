package framework

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Watch calls handle, in a goroutine of its own, for each event of the
// objects of list (matching opts) until the test ends; a watch sees every
// change, where a poll sees only what is there when it looks. handle gets a
// context that is cancelled when the test ends. A watch the API server
// closes (it restarted) resumes after the last event seen, so no change is
// missed.
func (e *Env) Watch(t testing.TB, list client.ObjectList, handle func(ctx context.Context, ev watch.Event), opts ...client.ListOption) {
	t.Helper()
	wc, err := client.NewWithWatch(e.Cluster.Config, client.Options{Scheme: e.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := wc.Watch(ctx, list, opts...)
	if err != nil {
		cancel()
		t.Fatalf("watch %T: %v", list, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			rv := drain(ctx, w, handle)
			if w = rewatch(ctx, wc, list, rv, opts); w == nil {
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// drain hands w's events to handle until w closes, and returns the
// resourceVersion of the last object seen; empty after an error event
// (the version may be too old to resume from).
func drain(ctx context.Context, w watch.Interface, handle func(ctx context.Context, ev watch.Event)) string {
	defer w.Stop()
	rv := ""
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error {
			return ""
		}
		if o, ok := ev.Object.(metav1.Object); ok {
			rv = o.GetResourceVersion()
		}
		handle(ctx, ev)
	}
	return rv
}

// rewatch starts the watch again from rv until it succeeds; nil once ctx
// is done.
func rewatch(ctx context.Context, wc client.WithWatch, list client.ObjectList, rv string, opts []client.ListOption) watch.Interface {
	if rv != "" {
		opts = append(append([]client.ListOption(nil), opts...), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
		if w, err := wc.Watch(ctx, list, opts...); err == nil {
			return w
		}
	}
}
