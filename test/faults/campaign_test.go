package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// fleetSize canaries take part; every fifth serves errors.
const fleetSize = 20

// The campaign: 20 canaries in the middle of their releases while, for
// 50 s, the operator is killed every 2-6 s, a primary is deleted, the API
// server restarts, Prometheus stops for two intervals, and one canary's
// webhook never answers. Afterwards no canary took a step forward (more
// weight or promotion) on missing data and no faulty canary was promoted,
// no failed canary keeps traffic, none is stuck (each ends Succeeded or
// Failed), and no primary was ever at 0 replicas.
func TestFaultCampaign(t *testing.T) {
	e := framework.Get()
	ns := e.Namespace(t)
	rng := rand.New(rand.NewPCG(campaignSeed(t), 0))
	fleet := newFleet(framework.HangingServer(t))
	ops := newOperators(t, "--namespace="+ns, "--metrics-server="+e.Prometheus.URL, "--step-timeout=5s")
	obs := observe(t, ns)
	for _, m := range fleet {
		m.create(t, ns)
		e.Exporter.SetTraffic(ns, m.canaryPod(), m.traffic())
	}
	for _, m := range fleet {
		waitForPhase(t, ns, m.name, 120*time.Second, flaggerv1.CanaryPhaseInitialized)
	}
	// The fleet is on gatewayapi:v1, measured on the application's histogram.
	q := fmt.Sprintf(`count(sum by (kubernetes_pod_name) (rate(http_request_duration_seconds_count{kubernetes_namespace=%q}[10s])) > 0) >= %d`, ns, fleetSize)
	framework.Eventually(t, 60*time.Second, "Prometheus to have every canary's traffic", func(ctx context.Context) (bool, string) {
		return e.Prometheus.HasResult(ctx, q)
	})
	for _, m := range fleet {
		newRevision(t, ns, m.name)
	}
	outage, inRelease := runFaults(t, ns, rng, ops)
	report := settle(ns, fleet, obs)
	report.inReleaseAtOutage = inRelease
	report.advancedOnMissingData = obs.advancedBetween(outage[0], outage[1])
	report.print(t)
	report.assertSafe(t)
}

func campaignSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FAULTS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("FAULTS_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("FAULTS_SEED=%d", seed)
	return seed
}

// newFleet: members 4, 9, 14 and 19 serve errors; member 3's rollout
// webhook calls url, which never answers.
func newFleet(url string) []member {
	var fleet []member
	for i := range fleetSize {
		m := member{name: fmt.Sprintf("podinfo-%d", i), faulty: i%5 == 4}
		if i == 3 {
			m.hooks = []flaggerv1.CanaryWebhook{{Name: "hangs", Type: flaggerv1.RolloutHook, URL: url, Timeout: "1m"}}
		}
		fleet = append(fleet, m)
	}
	return fleet
}

// newRevision changes a target's image: the release of the campaign.
func newRevision(t *testing.T, ns, name string) {
	t.Helper()
	d := &appsv1.Deployment{}
	framework.MustGet(t, ns, name, d)
	patch := client.MergeFrom(d.DeepCopy())
	d.Spec.Template.Spec.Containers[0].Image = "stefanprodan/podinfo:3.1.1"
	if err := framework.Get().Client.Patch(context.Background(), d, patch); err != nil {
		t.Fatal(err)
	}
}

func waitForPhase(t *testing.T, ns, name string, timeout time.Duration, phases ...flaggerv1.CanaryPhase) *flaggerv1.Canary {
	t.Helper()
	c := &flaggerv1.Canary{}
	framework.Eventually(t, timeout, fmt.Sprintf("%s to be one of %v", name, phases), func(ctx context.Context) (bool, string) {
		if err := framework.Get().Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, c); err != nil {
			return false, err.Error()
		}
		for _, p := range phases {
			if c.Status.Phase == p {
				return true, ""
			}
		}
		return false, fmt.Sprintf("phase %s, weight %d", c.Status.Phase, c.Status.CanaryWeight)
	})
	return c
}

// report holds the campaign's counts.
type report struct {
	succeeded, failed     []string
	inReleaseAtOutage     []string
	advancedOnMissingData []string
	faultyPromoted        []string
	trafficOnFailed       []string
	stuck                 []string
	zeroPrimaries         []string
}

func (r report) print(t *testing.T) {
	lines := []string{
		fmt.Sprintf("canaries: %d succeeded, %d failed %v", len(r.succeeded), len(r.failed), r.failed),
		fmt.Sprintf("under analysis when Prometheus stopped: %d %v", len(r.inReleaseAtOutage), r.inReleaseAtOutage),
		fmt.Sprintf("advanced on missing data:        %d %v", len(r.advancedOnMissingData), r.advancedOnMissingData),
		fmt.Sprintf("faulty canaries promoted:        %d %v", len(r.faultyPromoted), r.faultyPromoted),
		fmt.Sprintf("traffic left on failed canaries: %d %v", len(r.trafficOnFailed), r.trafficOnFailed),
		fmt.Sprintf("stuck canaries:                  %d %v", len(r.stuck), r.stuck),
		fmt.Sprintf("primaries ever at 0 replicas:    %d %v", len(r.zeroPrimaries), r.zeroPrimaries),
	}
	t.Logf("fault campaign:\n  %s", strings.Join(lines, "\n  "))
}

func (r report) assertSafe(t *testing.T) {
	for what, names := range map[string][]string{
		"advanced on missing data": r.advancedOnMissingData, "faulty canaries promoted": r.faultyPromoted,
		"traffic left on failed canaries": r.trafficOnFailed, "stuck canaries": r.stuck, "primaries at 0 replicas": r.zeroPrimaries,
	} {
		if len(names) > 0 {
			t.Errorf("%s: %v", what, names)
		}
	}
}
