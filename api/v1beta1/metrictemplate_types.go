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
// +kubebuilder:validation:XValidation:rule="!has(self.headers) || has(self.address)",fieldPath=".address",message="provider.address is required with provider.headers: the headers are only ever sent to the address written next to them"
// +kubebuilder:validation:XValidation:rule="!has(self.headers) || !has(self.secretRef) || !self.headers.exists(k, k.lowerAscii() == 'authorization')",fieldPath=".headers",message="provider.headers must not set Authorization with provider.secretRef: the Secret's credentials are the Authorization header"
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

	// headers are sent with every query to address, e.g. X-Scope-OrgID to
	// pick a Mimir or Cortex tenant: at most 16 names of letters, digits,
	// '-', '_' and '.', each with at most 8 values of at most 1024
	// characters. Names the HTTP client manages (Host, Content-Type,
	// Content-Length, the hop-by-hop and proxy headers) are refused.
	// +kubebuilder:validation:MaxProperties=16
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[A-Za-z0-9][-A-Za-z0-9_.]{0,127}$'))",message="provider.headers names must be 1 to 128 letters, digits, '-', '_' and '.', starting with a letter or digit"
	// +kubebuilder:validation:XValidation:rule="!self.exists(k, k.lowerAscii() in ['host', 'content-type', 'content-length', 'connection', 'keep-alive', 'proxy-authorization', 'proxy-authenticate', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'])",message="provider.headers must not set Host, Content-Type, Content-Length, Connection, Keep-Alive, Proxy-Authorization, Proxy-Authenticate, Proxy-Connection, TE, Trailer, Transfer-Encoding or Upgrade: the HTTP client sets them"
	// +optional
	Headers map[string]HeaderValues `json:"headers,omitempty"`
}

// HeaderValues are the values of one request header.
// +kubebuilder:validation:MinItems=1
// +kubebuilder:validation:MaxItems=8
type HeaderValues []HeaderValue

// HeaderValue is one value of a request header: printable text, without
// line breaks.
// +kubebuilder:validation:MaxLength=1024
// +kubebuilder:validation:Pattern=`^[^\x00-\x08\x0A-\x1F\x7F]*$`
type HeaderValue string

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

// HeaderNamePattern is what a provider.headers name may be; the CRD's rule
// on provider.headers is this pattern, and the checker tests it again for
// templates stored before the rule.
const HeaderNamePattern = `^[A-Za-z0-9][-A-Za-z0-9_.]{0,127}$`

// ReservedHeaders are the request headers provider.headers must not set:
// the HTTP client writes them, or they are hop-by-hop or meant for a proxy.
// The CRD's rule lists them in lower case; the checker refuses them again
// for templates stored before the rule.
var ReservedHeaders = []string{"Host", "Content-Type", "Content-Length", "Connection", "Keep-Alive",
	"Proxy-Authorization", "Proxy-Authenticate", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade"}
