package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

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

// routeRecorder keeps, for each HTTPRoute, when the watch delivered it
// with the canary's backend at weight 0.
type routeRecorder struct {
	mu    sync.Mutex
	zeros map[string][]time.Time
}

// recordRoutes watches the fleet's HTTPRoutes until ctx ends.
func (f *fleet) recordRoutes(ctx context.Context) *routeRecorder {
	r := &routeRecorder{zeros: map[string][]time.Time{}}
	go func() {
		version := ""
		for ctx.Err() == nil {
			w, err := f.cl.Watch(ctx, &gatewayv1.HTTPRouteList{}, client.InNamespace(namespace), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: version}})
			if err != nil {
				logf("watch routes: %v", err)
				time.Sleep(time.Second)
				continue
			}
			for ev := range w.ResultChan() {
				route, ok := ev.Object.(*gatewayv1.HTTPRoute)
				if !ok || ev.Type == watch.Deleted {
					continue
				}
				version = route.ResourceVersion
				if canaryWeight(route) == 0 {
					r.mu.Lock()
					r.zeros[route.Name] = append(r.zeros[route.Name], time.Now())
					r.mu.Unlock()
				}
			}
		}
	}()
	return r
}

// canaryWeight is the weight of the route's -canary backend; -1 without one.
func canaryWeight(route *gatewayv1.HTTPRoute) int32 {
	for _, rule := range route.Spec.Rules {
		for _, b := range rule.BackendRefs {
			if string(b.Name) == route.Name+"-canary" && b.Weight != nil {
				return *b.Weight
			}
		}
	}
	return -1
}

// rollbackLatencies is, for each canary rolled back in the release of
// hashes, the time from the watch delivering its Failed status (the
// decision, written before any route) to the watch delivering its route
// with the canary at weight 0.
func rollbackLatencies(states *recorder, routes *routeRecorder, hashes map[string]string) ([]time.Duration, error) {
	states.mu.Lock()
	defer states.mu.Unlock()
	routes.mu.Lock()
	defer routes.mu.Unlock()
	var out []time.Duration
	for name, hash := range hashes {
		var failed time.Time
		for _, s := range states.states[name] {
			if s.phase == flaggerv1.CanaryPhaseFailed && s.revision == hash {
				failed = s.at
				break
			}
		}
		if failed.IsZero() {
			continue
		}
		// The route's last zero before the decision is the weight before
		// the release's first step; the one answering the rollback is
		// the first delivered after the canary stepped above 0.
		var routed time.Time
		for _, at := range routes.zeros[name] {
			if at.After(failed.Add(-time.Second)) {
				routed = at
				break
			}
		}
		if routed.IsZero() {
			return nil, fmt.Errorf("canary %s rolled back without its route at weight 0", name)
		}
		out = append(out, routed.Sub(failed))
	}
	return out, nil
}
