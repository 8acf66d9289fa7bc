package v1beta2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VirtualService is the name clients call; its provider (here a virtual
// router) decides where the calls go.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all
// +kubebuilder:printcolumn:name="ARN",type=string,JSONPath=`.status.virtualServiceARN`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type VirtualService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired virtual service.
	// +optional
	Spec VirtualServiceSpec `json:"spec,omitempty"`
	// status is written by the App Mesh controller.
	// +optional
	Status VirtualServiceStatus `json:"status,omitempty"`
}

// VirtualServiceSpec is the desired state of a VirtualService.
type VirtualServiceSpec struct {
	// awsName is the virtual service's name in App Mesh, the DNS name
	// clients call.
	// +optional
	AWSName *string `json:"awsName,omitempty"`
	// provider receives the virtual service's traffic.
	// +required
	Provider VirtualServiceProvider `json:"provider"`
	// meshRef is filled in by the App Mesh controller from the Mesh's
	// namespace selector.
	// +optional
	MeshRef *MeshReference `json:"meshRef,omitempty"`
}

// VirtualServiceProvider is a virtual node or a virtual router; one is set.
type VirtualServiceProvider struct {
	// virtualNode provider.
	// +optional
	VirtualNode *VirtualNodeServiceProvider `json:"virtualNode,omitempty"`
	// virtualRouter provider.
	// +optional
	VirtualRouter *VirtualRouterServiceProvider `json:"virtualRouter,omitempty"`
}

// VirtualNodeServiceProvider names the virtual node providing a service.
type VirtualNodeServiceProvider struct {
	// virtualNodeRef names a VirtualNode object.
	// +optional
	VirtualNodeRef *VirtualNodeReference `json:"virtualNodeRef,omitempty"`
	// virtualNodeARN is the ARN of a virtual node in App Mesh.
	// +optional
	VirtualNodeARN *string `json:"virtualNodeARN,omitempty"`
}

// VirtualRouterServiceProvider names the virtual router providing a
// service.
type VirtualRouterServiceProvider struct {
	// virtualRouterRef names a VirtualRouter object.
	// +optional
	VirtualRouterRef *VirtualRouterReference `json:"virtualRouterRef,omitempty"`
	// virtualRouterARN is the ARN of a virtual router in App Mesh.
	// +optional
	VirtualRouterARN *string `json:"virtualRouterARN,omitempty"`
}

// VirtualServiceStatus is written by the App Mesh controller.
type VirtualServiceStatus struct {
	// virtualServiceARN is the virtual service's ARN in App Mesh.
	// +optional
	VirtualServiceARN *string `json:"virtualServiceARN,omitempty"`
	// conditions of the virtual service.
	// +optional
	Conditions []Condition `json:"conditions,omitempty"`
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration *int64 `json:"observedGeneration,omitempty"`
}

// +kubebuilder:object:root=true

// VirtualServiceList is a list of VirtualServices.
type VirtualServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VirtualService `json:"items"`
}

func init() {
	SchemeBuilder.Register(&VirtualService{}, &VirtualServiceList{})
}
