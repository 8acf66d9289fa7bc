// Package v1beta1 holds the part of the AWS App Mesh controller's older
// appmesh.k8s.aws/v1beta1 API (controller v0.x, the seed's era) that Serin
// writes: VirtualNode and VirtualService, whose spec embeds the virtual
// router and its routes. Field names and JSON tags follow that controller;
// fields Serin never sets are left out, and a merge patch leaves them as
// they are.
//
// +kubebuilder:object:generate=true
// +groupName=appmesh.k8s.aws
package v1beta1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "appmesh.k8s.aws", Version: "v1beta1"}

	// SchemeBuilder registers this API's types with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds this API's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
