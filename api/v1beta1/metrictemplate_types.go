package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MetricTemplate is a reusable metric query, rendered with the canary's
// name, namespace, target, service, ingress, interval and variables.
//
// +kubebuilder:object:root=true
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.spec.provider.type`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MetricTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the query and where to run it.
	// +required
	Spec MetricTemplateSpec `json:"spec"`
}

// MetricTemplateSpec is a query and its metrics provider.
type MetricTemplateSpec struct {
	// provider runs the query.
	// +required
	Provider MetricTemplateProvider `json:"provider"`

	// query is a Go template of the provider's query language.
	// +kubebuilder:validation:MinLength=1
	// +required
	Query string `json:"query"`
}

// MetricTemplateProvider is a metrics server.
type MetricTemplateProvider struct {
	// type of the metrics server. Only prometheus is supported so far.
	// +kubebuilder:validation:Enum=prometheus
	// +required
	Type string `json:"type"`

	// address of the server, e.g. http://prometheus.monitoring:9090; the
	// operator's --metrics-server flag applies when empty.
	// +kubebuilder:validation:XValidation:rule="isURL(self)",message="provider.address must be an absolute URL such as http://prometheus.monitoring:9090"
	// +optional
	Address string `json:"address,omitempty"`

	// secretRef names a Secret with the keys username and password (basic
	// auth) or token (bearer).
	// +optional
	SecretRef *corev1.LocalObjectReference `json:"secretRef,omitempty"`

	// insecureSkipVerify disables TLS certificate checks.
	// +optional
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
}

// +kubebuilder:object:root=true

// MetricTemplateList is a list of MetricTemplates.
type MetricTemplateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MetricTemplate `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MetricTemplate{}, &MetricTemplateList{})
}
