package framework

import (
	"context"
	"testing"
	"time"
)

// Eventually polls cond every 100 ms until it returns true or timeout
// passes; then it fails the test with the last reason cond gave.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		ok, reason := cond(ctx)
		if ok {
			return
		}
		last = reason
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, last)
		case <-tick.C:
		}
	}
}
