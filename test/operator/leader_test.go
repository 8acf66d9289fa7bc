package operator

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// leaseName is the operator's leader-election lease (cmd/serin).
const leaseName = "serin.flagger.app"

// takeoverTimeout bounds how long a follower needs to take over from a
// killed leader: the killed leader cannot release the lease, so the
// follower waits for it to expire (15 s lease duration, 2 s retry period,
// controller-runtime's defaults), plus a margin.
const takeoverTimeout = 30 * time.Second

// Of two replicas started with --leader-elect, only the leader reconciles
// the canary; when the leader is killed, the follower takes the lease over
// and reconciles the target's next revision.
func TestOnlyTheLeaderReconcilesAndTheFollowerTakesOver(t *testing.T) {
	e := framework.Get()
	ns := e.Namespace(t)
	e.GrantLeaderElection(t, ns)
	flags := []string{"--leader-elect", "--leader-election-namespace=" + ns, "--namespace=" + ns}
	replicas := []*framework.Operator{e.StartOperator(t, flags...), e.StartOperator(t, flags...)}
	leader, follower := waitForOneLeader(t, replicas)
	first := getLease(t, ns)

	canary := watchCanary(t, ns, "podinfo")
	e.Apply(t, ns, "podinfo.yaml")
	e.Apply(t, ns, "canary.yaml")
	canary.waitFor(t, 30*time.Second, "the canary to be Initialized", inPhase(flaggerv1.CanaryPhaseInitialized, ""))
	framework.Eventually(t, 30*time.Second, "the leader to settle", leader.Settled)
	if n := reconciles(t, leader); n == 0 {
		t.Errorf("the leader reports no canary reconciles")
	}
	if n := reconciles(t, follower); n != 0 {
		t.Errorf("the follower reconciled the canary %v times while the other replica led", n)
	}
	if isLeader(t, follower) {
		t.Errorf("both replicas report leader_election_master_status 1")
	}
	if lines := unexpectedErrors(leader); len(lines) > 0 {
		t.Errorf("the leader logged errors:\n%s", strings.Join(lines, "\n"))
	}

	killed := time.Now()
	leader.Kill()
	framework.Eventually(t, takeoverTimeout, "the follower to become leader", func(ctx context.Context) (bool, string) {
		ok, err := leads(ctx, follower)
		if err != nil {
			return false, err.Error()
		}
		return ok, "leader_election_master_status is not 1"
	})
	t.Logf("The follower led %s after the leader was killed", time.Since(killed).Round(100*time.Millisecond))
	second := getLease(t, ns)
	if holder(second) == holder(first) {
		t.Errorf("the lease is still held by %s, the killed leader", holder(first))
	}
	if transitions(second) <= transitions(first) {
		t.Errorf("lease transitions %d after the takeover, want more than %d", transitions(second), transitions(first))
	}

	hash := newRevision(t, ns, "podinfo", "2")
	canary.waitFor(t, 30*time.Second, "the new leader to start analysing the new revision", inPhase(flaggerv1.CanaryPhaseProgressing, hash))
	// Settled also means the new leader has finished a canary reconcile.
	framework.Eventually(t, 30*time.Second, "the new leader to settle", follower.Settled)
	if lines := unexpectedErrors(follower); len(lines) > 0 {
		t.Errorf("the new leader logged errors:\n%s", strings.Join(lines, "\n"))
	}
}

// lostCreateRace is what client-go logs, at error level, when another
// replica created the lease first; it then reads the lease and carries on.
const lostCreateRace = `"msg":"Error initially creating lease lock"`

// unexpectedErrors are op's error lines, less lostCreateRace: both
// replicas start at once, so one of them may lose the race.
func unexpectedErrors(op *framework.Operator) []string {
	var out []string
	for _, l := range op.ErrorLines() {
		if !(strings.Contains(l, lostCreateRace) && strings.Contains(l, "already exists")) {
			out = append(out, l)
		}
	}
	return out
}

// waitForOneLeader waits until exactly one replica reports that it holds
// the lease, and returns it and the other one.
func waitForOneLeader(t *testing.T, replicas []*framework.Operator) (leader, follower *framework.Operator) {
	t.Helper()
	framework.Eventually(t, 30*time.Second, "exactly one replica to lead", func(ctx context.Context) (bool, string) {
		var leaders []*framework.Operator
		for _, op := range replicas {
			ok, err := leads(ctx, op)
			if err != nil {
				return false, err.Error()
			}
			if ok {
				leaders = append(leaders, op)
			}
		}
		if len(leaders) != 1 {
			return false, fmt.Sprintf("%d replicas lead", len(leaders))
		}
		leader = leaders[0]
		return true, ""
	})
	for _, op := range replicas {
		if op != leader {
			follower = op
		}
	}
	return leader, follower
}

// leads reports whether op says it holds the lease.
func leads(ctx context.Context, op *framework.Operator) (bool, error) {
	v, err := op.Metric(ctx, "leader_election_master_status", map[string]string{"name": leaseName})
	if err != nil {
		return false, fmt.Errorf("scrape %s: %w", op.MetricsURL, err)
	}
	return v == 1, nil
}

func isLeader(t *testing.T, op *framework.Operator) bool {
	t.Helper()
	ok, err := leads(context.Background(), op)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// reconciles is the number of canary reconciles op has finished.
func reconciles(t *testing.T, op *framework.Operator) float64 {
	t.Helper()
	v, err := op.Metric(context.Background(), "controller_runtime_reconcile_total", map[string]string{"controller": "canary"})
	if err != nil {
		t.Fatalf("scrape %s: %v", op.MetricsURL, err)
	}
	return v
}

func getLease(t *testing.T, ns string) *coordinationv1.Lease {
	t.Helper()
	l := &coordinationv1.Lease{}
	if err := framework.Get().Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: leaseName}, l); err != nil {
		t.Fatalf("get lease %s: %v", leaseName, err)
	}
	if holder(l) == "" {
		t.Fatalf("lease %s has no holder: %+v", leaseName, l.Spec)
	}
	return l
}

func holder(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func transitions(l *coordinationv1.Lease) int32 {
	if l.Spec.LeaseTransitions == nil {
		return 0
	}
	return *l.Spec.LeaseTransitions
}
