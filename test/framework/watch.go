package framework

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Watch calls handle, in a goroutine of its own, for each event of the
// objects of list (matching opts) until the test ends; a watch sees every
// change, where a poll sees only what is there when it looks. handle gets a
// context that is cancelled when the test ends.
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
		for ev := range w.ResultChan() {
			handle(ctx, ev)
		}
	}()
	t.Cleanup(func() { cancel(); w.Stop(); <-done })
}
