package v1beta2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VirtualNode is a set of pods (chosen by podSelector) that App Mesh routes
// traffic to.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all
// +kubebuilder:printcolumn:name="ARN",type=string,JSONPath=`.status.virtualNodeARN`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
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
	// awsName is the virtual node's name in App Mesh; the App Mesh
	// controller defaults it to name_namespace.
	// +optional
	AWSName *string `json:"awsName,omitempty"`
	// podSelector selects the pods of the virtual node.
	// +optional
	PodSelector *metav1.LabelSelector `json:"podSelector,omitempty"`
	// listeners receive inbound traffic; App Mesh allows one.
	// +kubebuilder:validation:MaxItems=1
	// +optional
	Listeners []Listener `json:"listeners,omitempty"`
	// serviceDiscovery tells Envoy how to find the pods.
	// +optional
	ServiceDiscovery *ServiceDiscovery `json:"serviceDiscovery,omitempty"`
	// backends are the virtual services the pods may call.
	// +optional
	Backends []Backend `json:"backends,omitempty"`
	// meshRef is filled in by the App Mesh controller from the Mesh's
	// namespace selector.
	// +optional
	MeshRef *MeshReference `json:"meshRef,omitempty"`
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
	// hostname to resolve, e.g. podinfo-primary.test.svc.cluster.local.
	// +required
	Hostname string `json:"hostname"`
}

// Backend is a virtual service a virtual node may call.
type Backend struct {
	// virtualService is the backend.
	// +required
	VirtualService VirtualServiceBackend `json:"virtualService"`
}

// VirtualServiceBackend names the backend by reference or ARN; exactly one
// is set.
type VirtualServiceBackend struct {
	// virtualServiceRef names a VirtualService object in the cluster.
	// +optional
	VirtualServiceRef *VirtualServiceReference `json:"virtualServiceRef,omitempty"`
	// virtualServiceARN is the ARN of a virtual service in App Mesh.
	// +optional
	VirtualServiceARN *string `json:"virtualServiceARN,omitempty"`
}

// VirtualNodeStatus is written by the App Mesh controller.
type VirtualNodeStatus struct {
	// virtualNodeARN is the virtual node's ARN in App Mesh.
	// +optional
	VirtualNodeARN *string `json:"virtualNodeARN,omitempty"`
	// conditions of the virtual node.
	// +optional
	Conditions []Condition `json:"conditions,omitempty"`
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration *int64 `json:"observedGeneration,omitempty"`
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
