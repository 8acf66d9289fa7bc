package faults

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// interval is the analysis interval of every canary of the campaign.
const interval = 3 * time.Second

// member is one canary of the fleet and what its release should end as.
type member struct {
	name string
	// faulty canaries serve 50 % errors; the rest are healthy.
	faulty bool
	// hooks are the canary's webhooks.
	hooks []flaggerv1.CanaryWebhook
}

// canaryPod is the exporter's pod of a member's canary; the built-in
// queries' pod pattern matches it for that target only.
func (m member) canaryPod() string { return m.name + "-7f8b5-x2x4z" }

func (m member) traffic() framework.Traffic {
	t := framework.Traffic{RPS: 20, SuccessRatio: 1, Latency: 20 * time.Millisecond}
	if m.faulty {
		t.SuccessRatio = 0.5
	}
	return t
}

// create makes the member's one-replica Deployment and Canary: the seed's
// metrics on the gatewayapi:v1 provider, stepWeight 5 up to 50.
func (m member) create(t *testing.T, ns string) {
	t.Helper()
	one := int32(1)
	labels := map[string]string{"app": m.name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: m.name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "podinfo", Image: "stefanprodan/podinfo:3.1.0"}}},
			},
		},
	}
	minRate := 99.0
	c := &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: m.name, Namespace: ns},
		Spec: flaggerv1.CanarySpec{
			Provider:  "gatewayapi:v1",
			TargetRef: flaggerv1.TargetReference{APIVersion: "apps/v1", Kind: "Deployment", Name: m.name},
			Service:   flaggerv1.CanaryService{Port: 9898, GatewayRefs: []flaggerv1.ParentReference{{Name: "mesh"}}},
			Analysis: &flaggerv1.CanaryAnalysis{
				Interval: interval.String(), StepWeight: 5, MaxWeight: 50, Threshold: 5, Webhooks: m.hooks,
				Metrics: []flaggerv1.CanaryMetric{{Name: "request-success-rate", Interval: "10s", ThresholdRange: &flaggerv1.CanaryThresholdRange{Min: &minRate}}},
			},
		},
	}
	for _, o := range []client.Object{d, c} {
		if err := framework.Get().Client.Create(context.Background(), o); err != nil {
			t.Fatalf("create %s: %v", m.name, err)
		}
	}
}

// observer records, through watches that survive the API server's
// restart, what the campaign counts.
type observer struct {
	mu sync.Mutex
	// runs are every analysis run seen: canary, time, passed.
	runs map[string][]flaggerv1.AnalysisRecord
	// zeroPrimaries are the primaries ever seen with 0 replicas.
	zeroPrimaries map[string]bool
}

func observe(t *testing.T, ns string) *observer {
	o := &observer{runs: map[string][]flaggerv1.AnalysisRecord{}, zeroPrimaries: map[string]bool{}}
	e := framework.Get()
	e.Watch(t, &flaggerv1.CanaryList{}, func(_ context.Context, ev watch.Event) {
		c, ok := ev.Object.(*flaggerv1.Canary)
		if !ok || c.Status.LastAnalysis == nil {
			return
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		runs := o.runs[c.Name]
		if n := len(runs); n == 0 || !runs[n-1].Time.Equal(&c.Status.LastAnalysis.Time) {
			o.runs[c.Name] = append(runs, *c.Status.LastAnalysis.DeepCopy())
		}
	}, client.InNamespace(ns))
	e.Watch(t, &appsv1.DeploymentList{}, func(_ context.Context, ev watch.Event) {
		d, ok := ev.Object.(*appsv1.Deployment)
		if !ok || !strings.HasSuffix(d.Name, "-primary") || ev.Type == watch.Deleted {
			return
		}
		if d.Spec.Replicas != nil && *d.Spec.Replicas == 0 {
			o.mu.Lock()
			o.zeroPrimaries[d.Name] = true
			o.mu.Unlock()
		}
	}, client.InNamespace(ns))
	return o
}

// advancedBetween names the canaries with an analysis run that passed and
// moved the release forward (more weight, another iteration, promotion)
// while Prometheus was down (from, to): a step taken on missing data.
func (o *observer) advancedBetween(from, to time.Time) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for name, runs := range o.runs {
		for _, r := range runs {
			forward := strings.HasPrefix(r.Decision, "Advance") || r.Decision == "Promoting"
			// The record keeps the step's second: the step ran within
			// [Time, Time+1s), and only one whose whole second lies in
			// the outage surely ran while Prometheus was down. (A step
			// at 0.9 s into the second Prometheus came back in, after it
			// answered, was counted before.)
			if r.Passed && forward && !r.Time.Time.Before(from) && !r.Time.Add(time.Second).After(to) {
				out = append(out, fmt.Sprintf("%s at %s", name, r.Time.Format("15:04:05")))
			}
		}
	}
	return out
}

// routesOf reads the HTTPRoute's weights of a canary.
func routesOf(ctx context.Context, ns, name string) (string, error) {
	route := &gatewayv1.HTTPRoute{}
	if err := framework.Get().Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, route); err != nil {
		return "", err
	}
	refs := route.Spec.Rules[0].BackendRefs
	return fmt.Sprintf("%d/%d", *refs[0].Weight, *refs[1].Weight), nil
}
