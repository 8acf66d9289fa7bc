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
//
// +kubebuilder:validation:XValidation:rule="has(self.query) || has(self.compare)",message="set query (for thresholds), compare (for the judge), or both"
type MetricTemplateSpec struct {
	// provider runs the query.
	// +required
	Provider MetricTemplateProvider `json:"provider"`

	// query is a Go template of the provider's query language, at most
	// 16 KiB; rendering it has a budget of output and time as well. A
	// template with only compare has none.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=16384
	// +optional
	Query string `json:"query,omitempty"`

	// compare holds the queries of a comparison of the canary with the
	// primary, for canary metrics with compare (analysis.judge).
	// +optional
	Compare *MetricTemplateComparison `json:"compare,omitempty"`
}

// MetricTemplateProvider is a metrics server.
//
// +kubebuilder:validation:XValidation:rule="!has(self.secretRef) || has(self.address)",fieldPath=".address",message="provider.address is required with provider.secretRef: the Secret's credentials are only ever sent to the address written next to them"
type MetricTemplateProvider struct {
	// type of the metrics server. Only prometheus is supported so far.
	// +kubebuilder:validation:Enum=prometheus
	// +required
	Type string `json:"type"`

	// address of the server, e.g. http://prometheus.monitoring:9090. When
	// empty, the canary's spec.metricsServer or else the operator's
	// --metrics-server flag applies, without credentials: a template with a
	// secretRef must set it.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="provider.address must be an absolute http or https URL such as http://prometheus.monitoring:9090"
	// +optional
	Address string `json:"address,omitempty"`

	// secretRef names a Secret, in the template's namespace, with the keys
	// username and password (basic auth) or token (bearer). They are sent
	// only to address.
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
