package framework

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// HookReceiver is a real HTTP webhook receiver for tests: it approves every
// call (200) and counts calls by path, without the leading slash. It is
// closed when the test ends.
type HookReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls map[string]int
}

// NewHookReceiver starts a receiver on loopback.
func NewHookReceiver(t testing.TB) *HookReceiver {
	h := &HookReceiver{calls: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.calls[strings.TrimPrefix(r.URL.Path, "/")]++
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// URL is the receiver's address for path, e.g. URL("pre-rollout").
func (h *HookReceiver) URL(path string) string { return h.srv.URL + "/" + path }

// Calls returns the number of calls so far, by path.
func (h *HookReceiver) Calls() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.calls)
}
