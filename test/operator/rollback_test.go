package operator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// BenchmarkRollbackRoutesToPrimary measures how long all traffic stays on
// a canary once the operator has decided to roll it back: from the moment
// the canary's rollback webhook answers "roll back" until the watch
// delivers the HTTPRoute at 100/0. The canary's post-rollout webhook, its
// event webhook and the operator's --event-webhook all hang for 30 s:
// none of them may stand between the decision and the routes.
//
// Each iteration releases a new revision, waits until the HTTPRoute gives
// it 10 %, then arms the rollback webhook; the timer only runs from the
// webhook's answer to the route at 100/0. Once measured, the hanging
// calls of the iteration are let go so the next one starts sooner.
//
//	go test ./test/operator/ -run '^$' -bench BenchmarkRollbackRoutesToPrimary -benchtime 10x
func BenchmarkRollbackRoutesToPrimary(b *testing.B) {
	ns := framework.Get().Namespace(b)
	hooks := newRollbackHooks(b)
	framework.Get().StartOperator(b, "--namespace="+ns, "--event-webhook="+hooks.srv.URL+"/operator-event")
	canary := watchCanary(b, ns, "podinfo")
	routes := watchRoute(b, ns)
	framework.Get().CreateObjects(b, ns, framework.ReadObjects(b, "podinfo.yaml")...)
	framework.Get().CreateObjects(b, ns, gatewayCanary(b, hooks.srv.URL))
	canary.waitFor(b, 30*time.Second, "the canary to be Initialized", inPhase(flaggerv1.CanaryPhaseInitialized, ""))

	rollbacks := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		hash := newRevision(b, ns, "podinfo", strconv.Itoa(i))
		routes.waitFor(b, 60*time.Second, func(canaryWeight int32) bool { return canaryWeight >= 10 })
		answered := hooks.arm()
		b.StartTimer()
		at := routes.waitFor(b, 30*time.Second, func(canaryWeight int32) bool { return canaryWeight == 0 })
		b.StopTimer()
		rollbacks = append(rollbacks, at.Sub(<-answered))
		canary.waitFor(b, 60*time.Second, "revision "+strconv.Itoa(i)+" to fail", inPhase(flaggerv1.CanaryPhaseFailed, hash))
		hooks.release()
	}
	reportLatencies(b, rollbacks, "rollback")
}

// gatewayCanary is the operator tests' canary on the gatewayapi:v1
// provider with a 1s interval, a rollback webhook and post-rollout and
// event webhooks that hang.
func gatewayCanary(tb testing.TB, url string) *unstructured.Unstructured {
	tb.Helper()
	c := framework.ReadObjects(tb, "canary.yaml")[0]
	hook := func(typ string) any {
		return map[string]any{"name": typ, "type": typ, "url": url + "/" + typ, "timeout": "30s"}
	}
	for path, v := range map[string]any{
		"spec.provider":            "gatewayapi:v1",
		"spec.service.gatewayRefs": []any{map[string]any{"name": "mesh"}},
		"spec.analysis.interval":   "1s",
		"spec.analysis.stepWeight": int64(10),
		"spec.analysis.threshold":  int64(1),
		"spec.analysis.webhooks":   []any{hook("rollback"), hook("post-rollout"), hook("event")},
	} {
		if err := unstructured.SetNestedField(c.Object, v, strings.Split(path, ".")...); err != nil {
			tb.Fatal(err)
		}
	}
	return c
}

// rollbackHooks is the canary's webhook receiver: a rollback gate the
// benchmark arms, and everything else hanging for 30 s.
type rollbackHooks struct {
	srv *httptest.Server
	mu  sync.Mutex
	// answered, when armed, receives the time the gate said "roll back".
	answered chan time.Time
	// letGo ends the hanging calls of the current iteration.
	letGo chan struct{}
}

func newRollbackHooks(tb testing.TB) *rollbackHooks {
	h := &rollbackHooks{letGo: make(chan struct{})}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	tb.Cleanup(h.srv.Close)
	tb.Cleanup(h.release)
	return h
}

func (h *rollbackHooks) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	answered, letGo := h.answered, h.letGo
	if r.URL.Path == "/rollback" {
		h.answered = nil
	}
	h.mu.Unlock()
	if r.URL.Path != "/rollback" {
		select {
		case <-letGo:
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		return
	}
	if answered == nil {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	answered <- time.Now()
}

// arm makes the next rollback call answer "roll back"; the channel gets
// the time of that answer.
func (h *rollbackHooks) arm() <-chan time.Time {
	ch := make(chan time.Time, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answered = ch
	return ch
}

// release lets the hanging calls made so far return.
func (h *rollbackHooks) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.letGo)
	h.letGo = make(chan struct{})
}

// routeWatch timestamps every canary weight of the HTTPRoute podinfo.
type routeWatch struct {
	weights chan weightSeen
}

type weightSeen struct {
	at     time.Time
	canary int32
}

func watchRoute(tb testing.TB, ns string) *routeWatch {
	rw := &routeWatch{weights: make(chan weightSeen, 1024)}
	framework.Get().Watch(tb, &gatewayv1.HTTPRouteList{}, func(ctx context.Context, ev watch.Event) {
		at := time.Now()
		route, ok := ev.Object.(*gatewayv1.HTTPRoute)
		if !ok || ev.Type == watch.Deleted || len(route.Spec.Rules) == 0 || len(route.Spec.Rules[0].BackendRefs) != 2 {
			return
		}
		w := route.Spec.Rules[0].BackendRefs[1].Weight
		if w == nil {
			return
		}
		select {
		case rw.weights <- weightSeen{at: at, canary: *w}:
		case <-ctx.Done():
		}
	}, client.InNamespace(ns))
	return rw
}

// waitFor returns when a weight delivered from now on satisfies done.
func (rw *routeWatch) waitFor(tb testing.TB, timeout time.Duration, done func(canaryWeight int32) bool) time.Time {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case s := <-rw.weights:
			if done(s.canary) {
				return s.at
			}
		case <-deadline.C:
			tb.Fatalf("timed out after %s waiting for the HTTPRoute's weight", timeout)
		}
	}
}
