package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// faultWindow is how long the faults last.
const faultWindow = 50 * time.Second

// runFaults plays the faults and returns when they are over, with an
// operator running; it returns the Prometheus outage as [stopped, started]
// and the canaries in release when it began.
func runFaults(t *testing.T, ns string, rng *rand.Rand, ops *operators) ([2]time.Time, []string) {
	e := framework.Get()
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for kills := 0; time.Since(start) < faultWindow; kills++ {
			time.Sleep(2*time.Second + time.Duration(rng.Int64N(int64(4*time.Second))))
			ops.restart()
		}
	}()
	at := func(d time.Duration) { time.Sleep(time.Until(start.Add(d))) }
	at(8 * time.Second)
	primary := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "podinfo-7-primary"}}
	if err := e.Client.Delete(context.Background(), primary); err != nil {
		t.Errorf("delete the primary of podinfo-7: %v", err)
	}
	t.Logf("%s: deleted podinfo-7-primary", time.Since(start).Round(time.Second))
	at(12 * time.Second)
	if err := e.Cluster.RestartAPIServer(context.Background()); err != nil {
		t.Fatalf("restart the API server: %v", err)
	}
	t.Logf("%s: restarted the API server", time.Since(start).Round(time.Second))
	at(20 * time.Second)
	inRelease := progressing(ns)
	e.Prometheus.Stop()
	var outage [2]time.Time
	outage[0] = time.Now()
	time.Sleep(2 * interval)
	outage[1] = time.Now()
	if err := e.Prometheus.Start(); err != nil {
		t.Fatalf("start Prometheus again: %v", err)
	}
	t.Logf("%s: Prometheus was down for %s", time.Since(start).Round(time.Second), outage[1].Sub(outage[0]).Round(time.Second))
	wg.Wait()
	t.Logf("%s: faults over after %d operator restarts", time.Since(start).Round(time.Second), ops.restarts())
	return outage, inRelease
}

// progressing names the canaries under analysis.
func progressing(ns string) []string {
	var list flaggerv1.CanaryList
	if err := framework.Get().Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		return []string{"unknown: " + err.Error()}
	}
	var out []string
	for _, c := range list.Items {
		if c.Status.Phase == flaggerv1.CanaryPhaseProgressing {
			out = append(out, fmt.Sprintf("%s@%d", c.Name, c.Status.CanaryWeight))
		}
	}
	return out
}

// operators keeps one operator running, and kills and restarts it.
type operators struct {
	t     *testing.T
	flags []string
	mu    sync.Mutex
	op    *framework.Operator
	n     int
}

func newOperators(t *testing.T, flags ...string) *operators {
	o := &operators{t: t, flags: flags}
	o.op = o.start()
	t.Cleanup(func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.op.Kill()
	})
	return o
}

// start runs an operator, trying again while the API server is away.
func (o *operators) start() *framework.Operator {
	e := framework.Get()
	var lastErr error
	for try := range 60 {
		log := filepath.Join(e.Artifacts, fmt.Sprintf("operator-faults-%d-%d.log", o.n, try))
		op, err := framework.RunOperator(e.OperatorBin, e.Cluster.Kubeconfig, log, o.flags...)
		if err == nil {
			return op
		}
		lastErr = err
		time.Sleep(500 * time.Millisecond)
	}
	o.t.Errorf("the operator does not start: %v", lastErr)
	return nil
}

// restart kills the operator at once, as a crash would, and starts another.
func (o *operators) restart() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.op != nil {
		o.op.Kill()
	}
	o.n++
	o.op = o.start()
}

func (o *operators) restarts() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n
}

// settle waits until every canary ended its release and counts what the
// campaign checks.
func settle(ns string, fleet []member, obs *observer) report {
	var r report
	deadline := time.Now().Add(3 * time.Minute)
	for _, m := range fleet {
		c, ok := endOf(ns, m.name, deadline)
		switch {
		case !ok:
			r.stuck = append(r.stuck, fmt.Sprintf("%s (%s, weight %d)", m.name, c.Status.Phase, c.Status.CanaryWeight))
			continue
		case c.Status.Phase == flaggerv1.CanaryPhaseSucceeded:
			r.succeeded = append(r.succeeded, m.name)
			if m.faulty {
				r.faultyPromoted = append(r.faultyPromoted, m.name)
			}
		default:
			r.failed = append(r.failed, m.name)
			if w, err := routesOf(context.Background(), ns, m.name); err != nil || w != "100/0" {
				r.trafficOnFailed = append(r.trafficOnFailed, fmt.Sprintf("%s (%s %v)", m.name, w, err))
			}
		}
		primary := &appsv1.Deployment{}
		if err := framework.Get().Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: m.name + "-primary"}, primary); err != nil || *primary.Spec.Replicas == 0 {
			r.zeroPrimaries = append(r.zeroPrimaries, m.name+"-primary at the end")
		}
	}
	obs.mu.Lock()
	for name := range obs.zeroPrimaries {
		r.zeroPrimaries = append(r.zeroPrimaries, name)
	}
	obs.mu.Unlock()
	return r
}

// endOf waits until the canary's release ended: the canaries start
// Initialized and release one revision, so Succeeded or Failed is its end.
func endOf(ns, name string, deadline time.Time) (*flaggerv1.Canary, bool) {
	c := &flaggerv1.Canary{}
	for {
		err := framework.Get().Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, c)
		if err == nil && (c.Status.Phase == flaggerv1.CanaryPhaseSucceeded || c.Status.Phase == flaggerv1.CanaryPhaseFailed) {
			return c, true
		}
		if time.Now().After(deadline) {
			return c, false
		}
		time.Sleep(500 * time.Millisecond)
	}
}
