// Package v1alpha3 serves the Canary API under flagger.app/v1alpha3, the
// version of Flagger 0.x manifests (spec.canaryAnalysis). It shares its
// schema with v1beta1, the storage version, so no conversion webhook is
// needed: an object written as v1alpha3 is read back the same as v1beta1.
//
// +kubebuilder:object:generate=true
// +groupName=flagger.app
package v1alpha3

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "flagger.app", Version: "v1alpha3"}

	// SchemeBuilder registers this API's types with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds this API's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
