package kubernetes

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// podinfoContainers are a target's containers: the application with its
// service port, a named and an unnamed extra port, and a mesh sidecar.
var podinfoContainers = []corev1.Container{
	{Name: "podinfo", Ports: []corev1.ContainerPort{
		{Name: "http", ContainerPort: 9898},
		{Name: "http-metrics", ContainerPort: 9797},
		{ContainerPort: 9999, Protocol: corev1.ProtocolUDP},
	}},
	{Name: "istio-proxy", Ports: []corev1.ContainerPort{{Name: "http-envoy-prom", ContainerPort: 15090}}},
}

// reconcileServices runs Reconcile for the canary and returns the apex,
// primary and canary Services.
func reconcileServices(t *testing.T, c *flaggerv1.Canary, containers []corev1.Container) []corev1.Service {
	t.Helper()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = flaggerv1.AddToScheme(scheme)
	cl := fake.NewClientBuilder().WithScheme(scheme).Build()
	s := &Services{Client: cl, Scheme: scheme}
	if err := s.Reconcile(context.Background(), c, ServiceSet{LabelKey: "app", LabelValue: "podinfo", Containers: containers}); err != nil {
		t.Fatal(err)
	}
	var out []corev1.Service
	for _, name := range []string{"podinfo", "podinfo-primary", "podinfo-canary"} {
		var svc corev1.Service
		if err := cl.Get(context.Background(), client.ObjectKey{Namespace: "test", Name: name}, &svc); err != nil {
			t.Fatal(err)
		}
		out = append(out, svc)
	}
	return out
}

func newServiceCanary(mutate func(*flaggerv1.CanaryService)) *flaggerv1.Canary {
	c := &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test", UID: "uid-canary"},
		Spec: flaggerv1.CanarySpec{
			TargetRef: flaggerv1.TargetReference{Kind: "Deployment", Name: "podinfo"},
			Service:   flaggerv1.CanaryService{Port: 80, TargetPort: ptrTo(intstr.FromString("http"))},
		},
	}
	mutate(&c.Spec.Service)
	return c
}

func ptrTo[T any](v T) *T { return &v }

// spec.service.appProtocol is the appProtocol of the service port on the
// apex, primary and canary Services.
func TestTheServicesCarryTheAppProtocol(t *testing.T) {
	for _, protocol := range []string{"kubernetes.io/h2c", ""} {
		c := newServiceCanary(func(s *flaggerv1.CanaryService) { s.AppProtocol = protocol })
		for _, svc := range reconcileServices(t, c, podinfoContainers) {
			var got string
			if p := svc.Spec.Ports[0].AppProtocol; p != nil {
				got = *p
			}
			if len(svc.Spec.Ports) != 1 || got != protocol {
				t.Errorf("service %s: ports %+v, want one with appProtocol %q", svc.Name, svc.Spec.Ports, protocol)
			}
		}
	}
}

// spec.service.portDiscovery adds the target's other container ports to
// the three Services, as Flagger does: not the service's target port, not
// the mesh sidecar's, and none a Service already has.
func TestPortDiscoveryAddsTheTargetsOtherPorts(t *testing.T) {
	main := corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromString("http")}
	cases := map[string]struct {
		service    func(*flaggerv1.CanaryService) // changes the canary's service spec
		containers []corev1.Container             // the target's containers
		want       []corev1.ServicePort           // the ports of every Service
	}{
		"off": {
			service: func(*flaggerv1.CanaryService) {}, containers: podinfoContainers,
			want: []corev1.ServicePort{main},
		},
		"on": {
			service: func(s *flaggerv1.CanaryService) { s.PortDiscovery = true }, containers: podinfoContainers,
			want: []corev1.ServicePort{main,
				{Name: "http-metrics", Protocol: corev1.ProtocolTCP, Port: 9797, TargetPort: intstr.FromInt32(9797)},
				{Name: "tcp-podinfo-2", Protocol: corev1.ProtocolUDP, Port: 9999, TargetPort: intstr.FromInt32(9999)}},
		},
		"on, with a numbered target port": {
			service: func(s *flaggerv1.CanaryService) {
				s.PortDiscovery, s.Port, s.TargetPort = true, 9898, nil
			},
			containers: podinfoContainers[:1],
			want: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 9898, TargetPort: intstr.FromInt32(9898)},
				{Name: "http-metrics", Protocol: corev1.ProtocolTCP, Port: 9797, TargetPort: intstr.FromInt32(9797)},
				{Name: "tcp-podinfo-2", Protocol: corev1.ProtocolUDP, Port: 9999, TargetPort: intstr.FromInt32(9999)}},
		},
		"on, leaving out ports that would clash": {
			service: func(s *flaggerv1.CanaryService) { s.PortDiscovery = true },
			containers: []corev1.Container{
				{Name: "app", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "http", ContainerPort: 9090}}},
				{Name: "sidecar", Ports: []corev1.ContainerPort{{Name: "admin", ContainerPort: 80}, {Name: "admin", ContainerPort: 9000}}},
			},
			want: []corev1.ServicePort{main,
				{Name: "admin", Protocol: corev1.ProtocolTCP, Port: 9000, TargetPort: intstr.FromInt32(9000)}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for _, svc := range reconcileServices(t, newServiceCanary(tc.service), tc.containers) {
				if !reflect.DeepEqual(svc.Spec.Ports, tc.want) {
					t.Errorf("service %s ports:\n %+v\nwant\n %+v", svc.Name, svc.Spec.Ports, tc.want)
				}
			}
		})
	}
}
