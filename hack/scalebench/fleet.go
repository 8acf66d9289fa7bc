package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/workload"
	"github.com/serin-dev/serin/test/cluster"
	"github.com/serin-dev/serin/test/framework"
)

// namespace holds the fleet.
const namespace = "bench"

// writers is how many objects are created or patched at once.
const writers = 16

// fleet is N Deployments and their Canaries.
type fleet struct {
	c  *cluster.Cluster
	cl client.WithWatch
	o  options
	// gate is the rollout webhook of gatewayapi:v1 canaries.
	gate *gate
}

// newFleet creates the namespace, lets the operator's user do anything,
// and creates the N Deployments, waiting until each has a ready pod.
func newFleet(ctx context.Context, c *cluster.Cluster, o options) (*fleet, error) {
	cl, err := client.NewWithWatch(c.Config, client.Options{Scheme: framework.NewScheme()})
	if err != nil {
		return nil, err
	}
	f := &fleet{c: c, cl: cl, o: o}
	if o.provider == gatewayProvider {
		if f.gate, err = startGate(ctx); err != nil {
			return nil, err
		}
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "scalebench-operator"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: cluster.OperatorUser}},
	}
	for _, obj := range []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, binding} {
		if err := cl.Create(ctx, obj); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	if err := f.each(ctx, func(i int) error { return cl.Create(ctx, deployment(i)) }); err != nil {
		return nil, fmt.Errorf("create deployments: %w", err)
	}
	err = waitFor(ctx, "deployments available", func() (int, error) {
		var list appsv1.DeploymentList
		if err := cl.List(ctx, &list, client.InNamespace(namespace)); err != nil {
			return 0, err
		}
		n := 0
		for _, d := range list.Items {
			if d.Status.AvailableReplicas >= 1 {
				n++
			}
		}
		return n, nil
	}, o.n)
	logf("%d deployments available after %s", o.n, time.Since(start).Round(time.Second))
	return f, err
}

// each runs fn for 0..n-1, writers at a time, and returns the first error.
func (f *fleet) each(ctx context.Context, fn func(i int) error) error {
	next := make(chan int)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
loop:
	for i := range f.o.n {
		select {
		case next <- i:
		case err = <-errs:
			break loop
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// patches is one fleet-wide release as the benchmark wrote it.
type patches struct {
	// written is when each target's patch returned; hashes, the template
	// hash it gives.
	written map[string]time.Time
	hashes  map[string]string
	// took is how long each patch took.
	took []time.Duration
}

// release writes revision rev into every target's pod template.
func (f *fleet) release(ctx context.Context, rev string) (*patches, error) {
	var mu sync.Mutex
	p := &patches{written: map[string]time.Time{}, hashes: map[string]string{}}
	err := f.each(ctx, func(i int) error {
		d := &appsv1.Deployment{}
		if err := f.cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name(i)}, d); err != nil {
			return err
		}
		patch := client.MergeFrom(d.DeepCopy())
		d.Spec.Template.Annotations = map[string]string{"scalebench/revision": rev}
		start := time.Now()
		if err := f.cl.Patch(ctx, d, patch); err != nil {
			return err
		}
		done := time.Now()
		mu.Lock()
		defer mu.Unlock()
		p.written[name(i)], p.hashes[name(i)] = done, workload.TemplateHash(&d.Spec.Template)
		p.took = append(p.took, done.Sub(start))
		return nil
	})
	return p, err
}

// waitFor polls count every 2 s until it reaches want, logging progress.
func waitFor(ctx context.Context, what string, count func() (int, error), want int) error {
	last := -1
	for {
		n, err := count()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if n >= want {
			return nil
		}
		if n != last {
			logf("%s: %d of %d", what, n, want)
			last = n
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %d of %d: %w", what, n, want, ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
}

func name(i int) string { return "app-" + strconv.Itoa(i) }

// deployment is target i: one replica, labelled app=<name>.
func deployment(i int) *appsv1.Deployment {
	one := int32(1)
	labels := map[string]string{"app": name(i)}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "stefanprodan/podinfo:3.1.0",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 9898}},
				}}},
			},
		},
	}
}

// progressDeadline is the canaries' progressDeadlineSeconds: an hour, so
// that a control plane slow to roll out thousands of pods fails no release
// (at N=1000 on the shared 2-core machine, the default 10 minutes rolled
// back 154 canaries whose target the controller manager had not observed).
const progressDeadline = int32(3600)

// canary i: provider kubernetes, blue/green, no metrics or webhooks; or,
// with -provider gatewayapi:v1, a weighted release (25 then 50) with a
// rollout webhook, the gate, that rolls back the release after -rollback.
func (f *fleet) canary(i int) *flaggerv1.Canary {
	deadline := progressDeadline
	if f.o.provider == gatewayProvider {
		gateways := "gateways"
		return &flaggerv1.Canary{
			ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: namespace},
			Spec: flaggerv1.CanarySpec{
				Provider:                gatewayProvider,
				ProgressDeadlineSeconds: &deadline,
				TargetRef:               flaggerv1.TargetReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name(i)},
				Service:                 flaggerv1.CanaryService{Port: 9898, GatewayRefs: []flaggerv1.ParentReference{{Name: "public", Namespace: &gateways}}},
				Analysis: &flaggerv1.CanaryAnalysis{
					Interval:   f.o.interval.String(),
					StepWeight: 25,
					MaxWeight:  50,
					Threshold:  1,
					Webhooks:   []flaggerv1.CanaryWebhook{{Name: "gate", Type: flaggerv1.RolloutHook, URL: f.gate.url}},
				},
			},
		}
	}
	return &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: namespace},
		Spec: flaggerv1.CanarySpec{
			Provider:                "kubernetes",
			ProgressDeadlineSeconds: &deadline,
			TargetRef:               flaggerv1.TargetReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name(i)},
			Service:                 flaggerv1.CanaryService{Port: 9898},
			Analysis: &flaggerv1.CanaryAnalysis{
				Interval:   f.o.interval.String(),
				Iterations: f.o.iterations,
				Threshold:  5,
			},
		},
	}
}
