package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// gatewayProvider is the provider whose releases the benchmark can roll
// back with routes to measure: each canary's HTTPRoute carries its weights.
const gatewayProvider = "gatewayapi:v1"

// gate is the canaries' rollout webhook: it passes every call until
// failing is set, then fails each canary's second call of the release, so
// that the canary has stepped to a weight above 0 before it is rolled back.
type gate struct {
	url     string
	mu      sync.Mutex
	failing bool
	calls   map[string]int
}

// startGate serves the webhook on a local port until ctx ends.
func startGate(ctx context.Context) (*gate, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &gate{url: "http://" + l.Addr().String() + "/rollout", calls: map[string]int{}}
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	return g, nil
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var payload struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&payload); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.failing {
		return
	}
	g.calls[payload.Name]++
	if g.calls[payload.Name] >= 2 {
		http.Error(w, "scalebench: this release is rolled back", http.StatusInternalServerError)
	}
}

// failFromNow makes the next release fail at its second step.
func (g *gate) failFromNow() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failing, g.calls = true, map[string]int{}
}

// rollbackLatencies reads, from the API server's audit log, the time from
// the status write of each canary's rollback decision to the write of its
// routes at 100/0, for the canaries failed (a Failed state of the release
// of hashes delivered). Each is the operator's last HTTPRoute patch of the
// canary after since; the decision is its last status write before that.
// b gets each rollback's share of the operator (decision written → route
// patch received) and of the API server (the route patch).
func (f *fleet) rollbackLatencies(states *recorder, hashes map[string]string, since time.Time, b *breakdown) ([]time.Duration, error) {
	reqs, err := f.c.OperatorRequests()
	if err != nil {
		return nil, err
	}
	type rollback struct{ decided, received, routed time.Time }
	decided, rollbacks := map[string]time.Time{}, map[string]rollback{}
	for _, r := range reqs {
		if r.Namespace != namespace || r.Code != http.StatusOK || r.Completed.Before(since) {
			continue
		}
		switch {
		case r.Resource == "canaries" && r.Subresource == "status" && r.Verb == "update":
			decided[r.Name] = r.Completed
		case r.Resource == "httproutes" && r.Verb == "patch" && !decided[r.Name].IsZero():
			rollbacks[r.Name] = rollback{decided: decided[r.Name], received: r.Received, routed: r.Completed}
		}
	}
	states.mu.Lock()
	defer states.mu.Unlock()
	var out []time.Duration
	for name, hash := range hashes {
		failed := slices.ContainsFunc(states.states[name], func(s state) bool {
			return s.phase == flaggerv1.CanaryPhaseFailed && s.revision == hash
		})
		if !failed {
			continue
		}
		rb := rollbacks[name]
		if rb.routed.IsZero() {
			return nil, fmt.Errorf("canary %s rolled back without a route write in the audit log", name)
		}
		out = append(out, rb.routed.Sub(rb.decided))
		b.rollbackReaction = append(b.rollbackReaction, rb.received.Sub(rb.decided))
		b.rollbackRoute = append(b.rollbackRoute, rb.routed.Sub(rb.received))
	}
	return out, nil
}
