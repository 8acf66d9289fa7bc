// Package gitops_test is the acceptance test of the seed's GitOps flow
// (issue 13): Flux's source-controller and kustomize-controller on the
// local control plane apply the podinfo application from a git
// repository on loopback, and every release is a commit. It checks that
// Flux and the operator never fight: Flux writes nothing the operator
// generated, the canary's replicas are only the operator's to change, and
// Flux's Kustomization stays Ready; and that a replica fight, when git
// does carry replicas, is reported once and not looped.
package gitops_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/serin-dev/serin/internal/controller"
	"github.com/serin-dev/serin/test/demo"
	"github.com/serin-dev/serin/test/flux"
	"github.com/serin-dev/serin/test/seed"
)

func TestMain(m *testing.M) {
	os.Exit(seed.MainWith(m, "gitops", demo.Options{AppMesh: "v1beta2", GitOps: true}))
}

// The seed played by git commits only: "init app", "add canary", then
// podinfo 3.1.1 (promoted) and 3.0.2 (rolled back), each synced by Flux.
func TestTheSeedIsReleasedByGitCommitsThroughFlux(t *testing.T) {
	ctx := context.Background()
	st := seed.Stack()
	provider := "appmesh:v1beta2"
	ns := seed.Namespace(provider)
	ready := recordKustomizationReady(t, st, ns)
	replicas := recordReplicas(t, st, ns, "podinfo")

	sc := seed.Play(t, provider)
	if sc.GitOps == nil || sc.GitOps.Repo == nil {
		t.Fatal("the scenario did not release through git")
	}
	// Two more of Flux's reconciles after the rollback: drift it would
	// correct (the canary's replicas among it) shows up now.
	settled := len(replicas.Changes())
	for range 2 {
		if _, err := sc.GitOps.Sync.Reconcile(ctx, st.Client, "", time.Minute); err != nil {
			t.Fatal(err)
		}
	}

	changes := replicas.Changes()
	t.Logf("podinfo spec.replicas changes: %v", changes)
	if len(changes) < 5 || changes[len(changes)-1].Replicas != 0 {
		t.Errorf("replicas changed %v: want the creation, then up and down for each release, ending at 0", changes)
	}
	for i, c := range changes[1:] {
		if c.Writer != controller.FieldManager {
			t.Errorf("change %d of podinfo's replicas (%s) was not the operator's: %v", i+2, c, changes)
		}
	}
	if len(changes) != settled {
		t.Errorf("podinfo's replicas changed after the operator's last scale-down: %v", changes[settled-1:])
	}

	generated := generatedObjects(t, st, ns)
	for _, want := range []string{"deployments/" + ns + "/podinfo-primary", "services/" + ns + "/podinfo", "virtualrouters/" + ns + "/podinfo"} {
		if !generated[want] {
			t.Errorf("the audit log shows no creation of %s by the operator: %v", want, generated)
		}
	}
	writes := fluxWrites(t, st, ns)
	for obj, w := range writes {
		if generated[obj] {
			t.Errorf("Flux wrote %s, which the operator generated:\n%s", obj, strings.Join(w, "\n"))
		}
	}
	// Flux did apply what is in git: the Deployment at each of its three
	// revisions, and the Canary.
	if n := len(writes["deployments/"+ns+"/podinfo"]); n < 3 {
		t.Errorf("Flux wrote the podinfo Deployment %d times, want one per commit that changed it (3): %v", n, writes)
	}
	if len(writes["canaries/"+ns+"/podinfo"]) == 0 {
		t.Errorf("Flux never applied the Canary: %v", writes)
	}

	failures, seen := ready.Failures()
	if seen == 0 || len(failures) > 0 {
		t.Errorf("Kustomization %s: %d Ready statuses seen, not Ready in %v", ns, seen, failures)
	}
	if st, err := sc.GitOps.Sync.KustomizationStatus(ctx, st.Client); err != nil || st.Ready != "True" {
		t.Errorf("Kustomization %s at the end: %+v, %v", ns, st, err)
	}
	if slices.ContainsFunc(changes, func(c replicaChange) bool { return c.Writer == flux.FieldManager }) {
		t.Errorf("kustomize-controller owned podinfo's replicas at some point: %v", changes)
	}
}
