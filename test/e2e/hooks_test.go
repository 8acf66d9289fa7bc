package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// scriptedHooks is a webhook receiver for the safety tests: a traffic
// gate that opens until the canary's weight reaches a level, a rollback
// gate the test arms,
// and receivers that note the HTTPRoute's weights when a call arrives,
// then hang until the test ends (or 30 s), as a broken receiver would.
type scriptedHooks struct {
	t    *testing.T
	ns   string
	srv  *httptest.Server
	done chan struct{}

	mu sync.Mutex
	// holdAt is the canary weight from which the traffic gate stays
	// closed; 0 for never.
	holdAt int
	armed  bool
	// arrivals are "<path> <message> <primary>/<canary>" per call.
	arrivals []string
}

func newScriptedHooks(t *testing.T, holdAt int) *scriptedHooks {
	h := &scriptedHooks{t: t, holdAt: holdAt, done: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	// Runs before srv.Close: let the hanging handlers return.
	t.Cleanup(func() { close(h.done) })
	return h
}

func (h *scriptedHooks) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch r.URL.Path {
	case "/confirm-traffic-increase":
		// Read, not counted: a step whose status write conflicts calls the
		// gate again.
		c := &flaggerv1.Canary{}
		err := framework.Get().Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: "podinfo"}, c)
		if err != nil || (h.holdAt > 0 && c.Status.CanaryWeight >= h.holdAt) {
			w.WriteHeader(http.StatusForbidden)
		}
	case "/rollback":
		if !h.armed {
			w.WriteHeader(http.StatusForbidden)
		}
	default: // a receiver that hangs
		var p struct {
			Metadata map[string]string `json:"metadata"`
		}
		_ = json.NewDecoder(r.Body).Decode(&p)
		h.arrivals = append(h.arrivals, fmt.Sprintf("%s %s %s", r.URL.Path, p.Metadata["eventMessage"], h.routeWeights()))
		h.mu.Unlock()
		select {
		case <-h.done:
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		h.mu.Lock()
	}
}

// routeWeights reads the HTTPRoute from the API server.
func (h *scriptedHooks) routeWeights() string {
	route := &gatewayv1.HTTPRoute{}
	if err := framework.Get().Client.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: "podinfo"}, route); err != nil {
		return "unknown: " + err.Error()
	}
	refs := route.Spec.Rules[0].BackendRefs
	return fmt.Sprintf("%d/%d", *refs[0].Weight, *refs[1].Weight)
}

// open lets the traffic gate open from now on.
func (h *scriptedHooks) open() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holdAt = 0
}

// arm makes the rollback gate answer with success.
func (h *scriptedHooks) arm() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.armed = true
}

func (h *scriptedHooks) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.arrivals)
}

// url of one of the receiver's paths.
func (h *scriptedHooks) url(path string) string { return h.srv.URL + path }

// register adds webhooks of the given types to a canary manifest, each
// calling the path named after its type; receivers get a 30 s timeout.
func (h *scriptedHooks) register(types ...string) func(map[string]any) {
	return func(o map[string]any) {
		h.ns = o["metadata"].(map[string]any)["namespace"].(string)
		var hooks []any
		for _, typ := range types {
			hooks = append(hooks, map[string]any{"name": typ, "type": typ, "url": h.url("/" + typ), "timeout": "30s"})
		}
		o["spec"].(map[string]any)["analysis"].(map[string]any)["webhooks"] = hooks
	}
}

// waitForWeight waits until the HTTPRoute has carried weight w.
func (r *release) waitForWeight(w int) {
	r.t.Helper()
	framework.Eventually(r.t, 60*time.Second, fmt.Sprintf("canary weight %d on the HTTPRoute", w), func(context.Context) (bool, string) {
		seq := r.weights.sequence()
		return slices.Contains(seq, w), fmt.Sprintf("weights so far %v", seq)
	})
}
