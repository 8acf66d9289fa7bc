package operator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// shardLabel assigns canaries to the shards of this test.
const shardLabel = "serin.test/shard"

// shardIterations and shardInterval make a short blue/green release: the
// test moves and kills shards in the middle of one.
const (
	shardIterations = 6
	shardInterval   = "1s"
)

// Two operators shard the canaries by label, each on its own lease. Both
// shards' canaries progress; a killed shard's canary is left alone by the
// other until it is relabelled, and then continues on the live shard; a
// canary moved between two live shards in the middle of a release is
// stepped by one of them at a time: the audit log shows every status write
// of the old shard before every one of the new.
func TestShardsSplitCanariesAndHandThemOverOnRelabel(t *testing.T) {
	e := framework.Get()
	nsA, nsB := e.Namespace(t), e.Namespace(t)
	e.GrantLeaderElection(t, nsA)
	shardFlags := func(shard string) []string {
		return []string{"--leader-elect", "--leader-election-namespace=" + nsA, "--watch-label-selector=" + shardLabel + "=" + shard}
	}
	shardA := e.StartOperator(t, shardFlags("a")...)
	shardB := e.StartOperator(t, shardFlags("b")...)
	alpha, beta := watchCanary(t, nsA, "podinfo"), watchCanary(t, nsB, "podinfo")
	for ns, shard := range map[string]string{nsA: "a", nsB: "b"} {
		e.CreateObjects(t, ns, framework.ReadObjects(t, "podinfo.yaml")...)
		e.CreateObjects(t, ns, shardedCanary(t, shard)...)
	}
	alpha.waitFor(t, 30*time.Second, "shard a to initialize its canary", inPhase(flaggerv1.CanaryPhaseInitialized, ""))
	beta.waitFor(t, 30*time.Second, "shard b to initialize its canary", inPhase(flaggerv1.CanaryPhaseInitialized, ""))
	leases := map[string]bool{}
	for _, op := range []*framework.Operator{shardA, shardB} {
		framework.Eventually(t, 30*time.Second, "each shard to lead on its own lease", func(ctx context.Context) (bool, string) {
			lease := leaseOf(op)
			ok, err := op.Metric(ctx, "leader_election_master_status", map[string]string{"name": lease})
			return err == nil && ok == 1 && !leases[lease], fmt.Sprintf("lease %q: %v %v", lease, ok, err)
		})
		leases[leaseOf(op)] = true
	}

	// Shard a dies in the middle of a release of its canary; shard b
	// releases its own canary meanwhile and does not touch alpha.
	hashA := newRevision(t, nsA, "podinfo", "2")
	alpha.waitFor(t, 30*time.Second, "alpha to be analysed by shard a", iterationsAtLeast(hashA, 2))
	shardA.Kill()
	frozen := &flaggerv1.Canary{}
	framework.MustGet(t, nsA, "podinfo", frozen)
	hashB := newRevision(t, nsB, "podinfo", "2")
	beta.waitFor(t, 60*time.Second, "shard b to promote beta", inPhase(flaggerv1.CanaryPhaseSucceeded, hashB))
	now := &flaggerv1.Canary{}
	framework.MustGet(t, nsA, "podinfo", now)
	if now.ResourceVersion != frozen.ResourceVersion {
		t.Errorf("the canary of the killed shard changed while it was not relabelled: %s, then %s", describe(frozen), describe(now))
	}

	// Relabelled to the live shard, alpha's release carries on there.
	relabel(t, nsA, "b")
	alpha.waitFor(t, 60*time.Second, "shard b to promote alpha after the relabel", inPhase(flaggerv1.CanaryPhaseSucceeded, hashA))

	// Both shards alive: alpha moves back to a restarted shard a in the
	// middle of a release.
	e.StartOperator(t, shardFlags("a")...)
	hashA = newRevision(t, nsA, "podinfo", "3")
	alpha.waitFor(t, 30*time.Second, "shard b to analyse alpha", iterationsAtLeast(hashA, 2))
	relabel(t, nsA, "a")
	alpha.waitFor(t, 60*time.Second, "shard a to promote alpha after the relabel", inPhase(flaggerv1.CanaryPhaseSucceeded, hashA))

	writers := slices.Compact(statusWriters(t, nsA))
	want := []string{leaseOf(shardA), leaseOf(shardB), leaseOf(shardA)}
	if strings.Join(writers, " ") != strings.Join(want, " ") {
		t.Errorf("alpha's status was written by %v in turn, want %v (one shard at a time, switching at each relabel)", writers, want)
	}
	for _, w := range statusWriters(t, nsB) {
		if w != leaseOf(shardB) {
			t.Errorf("beta's status was written by %s, want only shard b", w)
		}
	}
}

// shardedCanary is the test canary in shard: a blue/green release of
// shardIterations runs, shardInterval apart.
func shardedCanary(t *testing.T, shard string) []*unstructured.Unstructured {
	t.Helper()
	objs := framework.ReadObjects(t, "canary.yaml")
	for _, o := range objs {
		o.SetLabels(map[string]string{shardLabel: shard})
		unstructured.RemoveNestedField(o.Object, "spec", "analysis", "stepWeight")
		for field, v := range map[string]any{"interval": shardInterval, "iterations": int64(shardIterations)} {
			if err := unstructured.SetNestedField(o.Object, v, "spec", "analysis", field); err != nil {
				t.Fatal(err)
			}
		}
	}
	return objs
}

// iterationsAtLeast is true for a canary analysing revision hash that has
// passed at least n iterations.
func iterationsAtLeast(hash string, n int) func(*flaggerv1.Canary) bool {
	return func(c *flaggerv1.Canary) bool {
		return inPhase(flaggerv1.CanaryPhaseProgressing, hash)(c) && c.Status.Iterations >= n
	}
}

// relabel moves the canary of ns to shard.
func relabel(t *testing.T, ns, shard string) {
	t.Helper()
	c := &flaggerv1.Canary{}
	framework.MustGet(t, ns, "podinfo", c)
	patch := client.MergeFrom(c.DeepCopy())
	c.Labels[shardLabel] = shard
	if err := framework.Get().Client.Patch(context.Background(), c, patch); err != nil {
		t.Fatalf("relabel canary of %s to shard %s: %v", ns, shard, err)
	}
}

// leaseOf is the lease op elects on, which cmd/serin also puts in its
// user agent ("shard/<lease>"): the shard's identity in the audit log.
func leaseOf(op *framework.Operator) string {
	for _, line := range strings.Split(op.Log(), "\n") {
		if i := strings.Index(line, `"leaderElectionID":"`); i >= 0 {
			rest := line[i+len(`"leaderElectionID":"`):]
			return rest[:strings.IndexByte(rest, '"')]
		}
	}
	return ""
}

// statusWriters are the shards (by lease) whose status writes of the
// canary in ns succeeded, in the order the API server carried them out.
func statusWriters(t *testing.T, ns string) []string {
	t.Helper()
	reqs, err := framework.Get().Cluster.OperatorRequests()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range reqs {
		if r.Resource != "canaries" || r.Subresource != "status" || r.Namespace != ns || r.Code >= 300 {
			continue
		}
		_, lease, _ := strings.Cut(r.UserAgent, " shard/")
		out = append(out, lease)
	}
	return out
}
