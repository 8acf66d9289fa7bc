package kubernetes

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// meshSidecars are containers whose ports portDiscovery leaves out, as
// Flagger does: they belong to the mesh, not to the application.
var meshSidecars = map[string]bool{"istio-proxy": true, "envoy": true}

// servicePorts are the ports of each of the canary's Services: the
// service port, then, with spec.service.portDiscovery, every other port of
// the target's containers, named as the container names it or
// tcp-<container>-<index> as Flagger does. A port whose name or number a
// Service already has is left out, so the Service stays valid.
func servicePorts(c *flaggerv1.Canary, containers []corev1.Container) []corev1.ServicePort {
	main := corev1.ServicePort{Name: c.GetPortName(), Protocol: corev1.ProtocolTCP, Port: c.Spec.Service.Port, TargetPort: c.GetTargetPort()}
	if c.Spec.Service.AppProtocol != "" {
		main.AppProtocol = &c.Spec.Service.AppProtocol
	}
	ports := []corev1.ServicePort{main}
	if !c.Spec.Service.PortDiscovery {
		return ports
	}
	target := c.GetTargetPort()
	for _, container := range containers {
		if meshSidecars[container.Name] {
			continue
		}
		for i, p := range container.Ports {
			if (target.Type == intstr.String && p.Name == target.StrVal) || (target.Type == intstr.Int && p.ContainerPort == target.IntVal) {
				continue
			}
			sp := corev1.ServicePort{Name: p.Name, Protocol: p.Protocol, Port: p.ContainerPort, TargetPort: intstr.FromInt32(p.ContainerPort)}
			if sp.Name == "" {
				sp.Name = fmt.Sprintf("tcp-%s-%d", container.Name, i)
			}
			if len(validation.IsDNS1123Label(sp.Name)) > 0 {
				sp.Name = fmt.Sprintf("tcp-%d", p.ContainerPort)
			}
			if sp.Protocol == "" {
				sp.Protocol = corev1.ProtocolTCP
			}
			if !clashes(ports, sp) {
				ports = append(ports, sp)
			}
		}
	}
	return ports
}

// clashes tells whether a Service with ports could not also have p: names
// and port-protocol pairs are unique in a Service.
func clashes(ports []corev1.ServicePort, p corev1.ServicePort) bool {
	for _, q := range ports {
		if q.Name == p.Name || q.Port == p.Port && q.Protocol == p.Protocol {
			return true
		}
	}
	return false
}
