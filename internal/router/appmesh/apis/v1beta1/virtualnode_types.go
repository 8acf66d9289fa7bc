package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VirtualNode is a workload in the mesh. The App Mesh v0.x sidecar injector
// attaches pods to the virtual node named after their controller.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all
type VirtualNode struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired virtual node.
	// +optional
	Spec VirtualNodeSpec `json:"spec,omitempty"`
	// status is written by the App Mesh controller.
	// +optional
	Status VirtualNodeStatus `json:"status,omitempty"`
}

// VirtualNodeSpec is the desired state of a VirtualNode.
type VirtualNodeSpec struct {
	// meshName is the mesh the virtual node belongs to.
	// +required
	MeshName string `json:"meshName"`
	// listeners receive inbound traffic.
	// +optional
	Listeners []Listener `json:"listeners,omitempty"`
	// serviceDiscovery tells Envoy how to find the pods.
	// +optional
	ServiceDiscovery *ServiceDiscovery `json:"serviceDiscovery,omitempty"`
	// backends are the virtual services the pods may call.
	// +optional
	Backends []Backend `json:"backends,omitempty"`
}

// Listener is an inbound port of a virtual node.
type Listener struct {
	// portMapping is the port and protocol.
	// +required
	PortMapping PortMapping `json:"portMapping"`
}

// ServiceDiscovery is how Envoy resolves a virtual node's pods.
type ServiceDiscovery struct {
	// dns service discovery.
	// +optional
	DNS *DNSServiceDiscovery `json:"dns,omitempty"`
}

// DNSServiceDiscovery resolves the pods through a DNS name.
type DNSServiceDiscovery struct {
	// hostName to resolve, e.g. podinfo-primary.test.
	// +required
	HostName string `json:"hostName"`
}

// Backend is a virtual service a virtual node may call.
type Backend struct {
	// virtualService is the backend.
	// +required
	VirtualService VirtualServiceBackend `json:"virtualService"`
}

// VirtualServiceBackend names the backend.
type VirtualServiceBackend struct {
	// virtualServiceName is the virtual service's name in the mesh.
	// +required
	VirtualServiceName string `json:"virtualServiceName"`
}

// VirtualNodeStatus is written by the App Mesh controller.
type VirtualNodeStatus struct {
	// meshArn is the mesh's ARN in App Mesh.
	// +optional
	MeshArn *string `json:"meshArn,omitempty"`
	// virtualNodeArn is the virtual node's ARN in App Mesh.
	// +optional
	VirtualNodeArn *string `json:"virtualNodeArn,omitempty"`
	// conditions of the virtual node.
	// +optional
	Conditions []Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true

// VirtualNodeList is a list of VirtualNodes.
type VirtualNodeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VirtualNode `json:"items"`
}

func init() {
	SchemeBuilder.Register(&VirtualNode{}, &VirtualNodeList{})
}
