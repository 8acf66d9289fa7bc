package emulator

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// endpoint is the pod a request is attributed to.
type endpoint struct {
	namespace, pod, deployment, image string
}

// endpoints picks a ready pod behind a Service, round-robin, as kube-proxy
// or Envoy's endpoint load balancing would.
type endpoints struct {
	reader client.Reader
	mu     sync.Mutex
	next   map[string]int
}

func newEndpoints(rd client.Reader) *endpoints {
	return &endpoints{reader: rd, next: map[string]int{}}
}

// pick returns a ready pod selected by the Service; ok is false when there
// is none (Envoy's "no healthy upstream").
func (e *endpoints) pick(ctx context.Context, namespace, service string) (ep endpoint, ok bool, err error) {
	svc := &corev1.Service{}
	if err := e.reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: service}, svc); err != nil {
		if apierrors.IsNotFound(err) {
			return endpoint{}, false, nil
		}
		return endpoint{}, false, fmt.Errorf("get Service %s/%s: %w", namespace, service, err)
	}
	if len(svc.Spec.Selector) == 0 {
		return endpoint{}, false, nil
	}
	var pods corev1.PodList
	if err := e.reader.List(ctx, &pods, client.InNamespace(namespace), client.MatchingLabels(svc.Spec.Selector), client.UnsafeDisableDeepCopy); err != nil {
		return endpoint{}, false, fmt.Errorf("list pods of Service %s/%s: %w", namespace, service, err)
	}
	var ready []*corev1.Pod
	for i := range pods.Items {
		if podReady(&pods.Items[i]) {
			ready = append(ready, &pods.Items[i])
		}
	}
	if len(ready) == 0 {
		return endpoint{}, false, nil
	}
	sort.Slice(ready, func(i, j int) bool { return ready[i].Name < ready[j].Name })
	key := namespace + "/" + service
	e.mu.Lock()
	p := ready[e.next[key]%len(ready)]
	e.next[key]++
	e.mu.Unlock()
	ep = endpoint{namespace: namespace, pod: p.Name, deployment: deploymentOf(p)}
	if len(p.Spec.Containers) > 0 {
		ep.image = p.Spec.Containers[0].Image
	}
	return ep, true, nil
}

// podReady reports whether a pod would be an endpoint: running, ready and
// not terminating.
func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// deploymentOf names the Deployment of a pod from the names the
// Deployment controller gives: pods of ReplicaSet <deployment>-<hash> are
// generated as <deployment>-<hash>-, and the hash is the pod's
// pod-template-hash label. Pods of other owners report their owner's name.
func deploymentOf(p *corev1.Pod) string {
	hash := p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	if hash != "" {
		if d, ok := strings.CutSuffix(p.GenerateName, "-"+hash+"-"); ok {
			return d
		}
	}
	for _, o := range p.OwnerReferences {
		if o.Controller != nil && *o.Controller {
			return o.Name
		}
	}
	return p.Name
}
