// Package v1beta2 holds the part of the AWS App Mesh controller's
// appmesh.k8s.aws/v1beta2 API that Serin writes: VirtualNode, VirtualRouter
// and VirtualService. Field names and JSON tags follow the App Mesh
// controller so the objects are read and written unchanged; fields Serin
// never sets are left out, and a merge patch leaves them as they are.
//
// +kubebuilder:object:generate=true
// +groupName=appmesh.k8s.aws
package v1beta2

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "appmesh.k8s.aws", Version: "v1beta2"}

	// SchemeBuilder registers this API's types with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds this API's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
