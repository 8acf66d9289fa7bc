package framework

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// HangingServer is a webhook receiver that never answers: each request
// waits until the caller gives up or the test ends. It returns its URL.
func HangingServer(t testing.TB) string {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	// Runs before srv.Close, which waits for the handlers to return.
	t.Cleanup(func() { close(done) })
	return srv.URL
}
