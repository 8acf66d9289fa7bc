package gitops_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/controller"
	"github.com/serin-dev/serin/test/demo"
	"github.com/serin-dev/serin/test/flux"
	"github.com/serin-dev/serin/test/framework"
	"github.com/serin-dev/serin/test/seed"
)

const fightNS = "gitops-fight"

// What a team that has not yet followed the advice keeps in git: the
// Deployment with replicas, the apex Service, and a Canary.
var fightFiles = map[string]string{
	"namespace.yaml": `apiVersion: v1
kind: Namespace
metadata:
  name: gitops-fight
`,
	"service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: podinfo
  namespace: gitops-fight
spec:
  selector:
    app: podinfo
  ports:
  - name: http
    port: 9898
    targetPort: 9898
`,
	"canary.yaml": `apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: gitops-fight
spec:
  provider: kubernetes
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  service:
    port: 9898
  analysis:
    interval: 1s
    threshold: 1
    iterations: 1
`,
}

func deploymentYAML(replicas string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  namespace: gitops-fight
spec:
` + replicas + `  selector:
    matchLabels:
      app: podinfo
  template:
    metadata:
      labels:
        app: podinfo
    spec:
      containers:
      - name: podinfo
        image: stefanprodan/podinfo:3.1.0
        ports:
        - containerPort: 9898
`
}

// Git carries replicas: 2, so Flux puts them back after the operator's
// scale-down at initialization. The operator reports the fight once,
// naming kustomize-controller and the fix, and stops scaling down; the
// Service in git that it took over keeps selecting the primary, since
// Flux skips it by its marker. Dropping replicas from git ends the fight.
func TestAReplicaFightWithFluxIsReportedOnceAndEndsWhenGitDropsTheReplicas(t *testing.T) {
	ctx := context.Background()
	st := seed.Stack()
	op, err := st.StartOperator("kubernetes", fightNS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Kill)
	replicas := recordReplicas(t, st, fightNS, "podinfo")
	repo, err := st.Git.NewRepo(ctx, "fight", filepath.Join(st.Dir, "git", "work-fight"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"fight/podinfo.yaml": []byte(deploymentYAML("  replicas: 2\n"))}
	for name, data := range fightFiles {
		files["fight/"+name] = []byte(data)
	}
	sha, err := repo.Commit(ctx, "podinfo with replicas in git", files)
	if err != nil {
		t.Fatal(err)
	}
	sync := flux.Sync{Name: "fight", Repo: repo, Path: "./fight", Interval: time.Hour}
	if err := sync.Create(ctx, st.Client); err != nil {
		t.Fatal(err)
	}
	if _, err := sync.Reconcile(ctx, st.Client, sha, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	waitCanary(t, "Initialized", func(c *flaggerv1.Canary) bool { return c.Status.Phase == flaggerv1.CanaryPhaseInitialized })

	// Flux corrects what it sees as drift until the operator stops
	// scaling down: a same-second reset costs one more round at most.
	framework.Eventually(t, time.Minute, "the ReplicasConflict condition", func(ctx context.Context) (bool, string) {
		if _, err := sync.Reconcile(ctx, st.Client, "", time.Minute); err != nil {
			return false, err.Error()
		}
		c := canary(t)
		cond := meta.FindStatusCondition(c.Status.Conditions, controller.ReplicasConflictCondition)
		return cond != nil, "conditions " + condTypes(c)
	})
	c := canary(t)
	cond := meta.FindStatusCondition(c.Status.Conditions, controller.ReplicasConflictCondition)
	for _, part := range []string{flux.FieldManager, "Deployment podinfo to 2", "remove replicas from the Deployment in git"} {
		if !strings.Contains(cond.Message, part) {
			t.Errorf("condition message %q does not say %q", cond.Message, part)
		}
	}
	if ready := meta.FindStatusCondition(c.Status.Conditions, flaggerv1.ReadyCondition); ready == nil || ready.Status != "True" {
		t.Errorf("Ready %+v: the canary still works while its idle target has replicas", ready)
	}
	before := replicas.Changes()
	for range 3 {
		if _, err := sync.Reconcile(ctx, st.Client, "", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	fighting := replicas.Changes()
	t.Logf("podinfo spec.replicas changes until the conflict was reported: %v", fighting)
	if len(fighting) != len(before) || fighting[len(fighting)-1].Replicas != 2 {
		t.Errorf("replicas kept changing after the conflict was reported: %v", fighting[len(before)-1:])
	}
	if downs := count(fighting, controller.FieldManager); downs < 1 || downs > 2 {
		t.Errorf("the operator scaled podinfo down %d times before giving way, want 1 (2 when Flux answered within the same second): %v", downs, fighting)
	}
	if n := warnings(t, "ReplicasConflict"); n != 1 {
		t.Errorf("%d ReplicasConflict events, want 1", n)
	}
	assertApexServiceKeptByTheOperator(t, st, c)

	// The fix: no replicas in git.
	sha, err = repo.Commit(ctx, "drop replicas from git", map[string][]byte{"fight/podinfo.yaml": []byte(deploymentYAML(""))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sync.Reconcile(ctx, st.Client, sha, time.Minute); err != nil {
		t.Fatal(err)
	}
	waitCanary(t, "the conflict to clear", func(c *flaggerv1.Canary) bool {
		return meta.FindStatusCondition(c.Status.Conditions, controller.ReplicasConflictCondition) == nil
	})
	framework.Eventually(t, 30*time.Second, "podinfo scaled to zero", func(ctx context.Context) (bool, string) {
		ch := replicas.Changes()
		last := ch[len(ch)-1]
		return last.Replicas == 0 && last.Writer == controller.FieldManager, last.String()
	})
	fixed := len(replicas.Changes())
	for range 2 {
		if _, err := sync.Reconcile(ctx, st.Client, "", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if after := replicas.Changes(); len(after) != fixed {
		t.Errorf("replicas changed after the fix's scale-down: %v", after[fixed-1:])
	}
}

// assertApexServiceKeptByTheOperator: the Service from git is the
// operator's now (owner, markers, selecting the primary), and Flux wrote
// it only before the operator took it over.
func assertApexServiceKeptByTheOperator(t *testing.T, st *demo.Stack, c *flaggerv1.Canary) {
	t.Helper()
	svc := &corev1.Service{}
	if err := st.Client.Get(context.Background(), client.ObjectKey{Namespace: fightNS, Name: "podinfo"}, svc); err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Selector["app"] != "podinfo-primary" {
		t.Errorf("the apex service selects %v, want the primary: Flux reverted it", svc.Spec.Selector)
	}
	framework.AssertGenerated(t, svc, c)
	writes, err := st.Cluster.Writes()
	if err != nil {
		t.Fatal(err)
	}
	var fluxAfter []string
	operatorWrote := false
	for _, e := range writes {
		ref := e.ObjectRef
		if ref.Resource != "services" || ref.Namespace != fightNS || ref.Name != "podinfo" {
			continue
		}
		operator := strings.Contains(e.RequestURI, "fieldManager="+controller.FieldManager)
		operatorWrote = operatorWrote || operator
		if e.User.Username == flux.User && operatorWrote {
			fluxAfter = append(fluxAfter, e.Verb+" "+e.RequestURI)
		}
	}
	if !operatorWrote || len(fluxAfter) > 0 {
		t.Errorf("the operator took the Service over: %v; Flux's writes after that: %v", operatorWrote, fluxAfter)
	}
}

func canary(t *testing.T) *flaggerv1.Canary {
	t.Helper()
	c := &flaggerv1.Canary{}
	if err := seed.Stack().Client.Get(context.Background(), client.ObjectKey{Namespace: fightNS, Name: "podinfo"}, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func waitCanary(t *testing.T, what string, cond func(*flaggerv1.Canary) bool) {
	t.Helper()
	framework.Eventually(t, time.Minute, what, func(ctx context.Context) (bool, string) {
		c := &flaggerv1.Canary{}
		if err := seed.Stack().Client.Get(ctx, client.ObjectKey{Namespace: fightNS, Name: "podinfo"}, c); err != nil {
			return false, err.Error()
		}
		return cond(c), "phase " + string(c.Status.Phase) + ", conditions " + condTypes(c)
	})
}

func condTypes(c *flaggerv1.Canary) string {
	var out []string
	for _, cond := range c.Status.Conditions {
		out = append(out, cond.Type+"="+string(cond.Status)+" ("+cond.Reason+")")
	}
	return strings.Join(out, ", ")
}

func count(changes []replicaChange, writer string) int {
	n := 0
	for _, c := range changes {
		if c.Writer == writer {
			n++
		}
	}
	return n
}

func warnings(t *testing.T, reason string) int {
	t.Helper()
	var events corev1.EventList
	if err := seed.Stack().Client.List(context.Background(), &events, client.InNamespace(fightNS)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range events.Items {
		if e.Reason == reason && e.Type == corev1.EventTypeWarning && e.InvolvedObject.Kind == "Canary" {
			n += int(max(e.Count, 1))
		}
	}
	return n
}
