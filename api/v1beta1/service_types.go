package v1beta1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// CanaryService describes the services the operator generates (apex,
// primary and canary) and the mesh routing in front of them.
type CanaryService struct {
	// name of the apex service; the target's name when empty.
	// +kubebuilder:validation:MaxLength=56
	// +optional
	Name string `json:"name,omitempty"`

	// port the services expose.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +required
	Port int32 `json:"port"`

	// portName of the service port; "http" when empty. A name starting with
	// "grpc" makes App Mesh listeners use the gRPC protocol.
	// +optional
	PortName string `json:"portName,omitempty"`

	// targetPort is the container port, by number or name; port when unset.
	// A pointer, so that an unset port is omitted rather than sent as 0.
	// +kubebuilder:validation:XValidation:rule="type(self) == string || (self >= 1 && self <= 65535)",message="service.targetPort must be a port name or a number from 1 to 65535"
	// +optional
	TargetPort *intstr.IntOrString `json:"targetPort,omitempty"`

	// portDiscovery adds the target's other container ports to the services.
	// +optional
	PortDiscovery bool `json:"portDiscovery,omitempty"`

	// appProtocol of the service port.
	// +optional
	AppProtocol string `json:"appProtocol,omitempty"`

	// timeout of a request through the mesh, e.g. 15s.
	// +kubebuilder:validation:Pattern=`^[0-9]+(ms|s|m)$`
	// +optional
	Timeout string `json:"timeout,omitempty"`

	// retries is the mesh retry policy.
	// +optional
	Retries *HTTPRetry `json:"retries,omitempty"`

	// match restricts the mesh route, e.g. to a URI prefix.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Match []HTTPMatchRequest `json:"match,omitempty"`

	// gateways (Istio) the route is attached to; kept for compatibility.
	// +optional
	Gateways []string `json:"gateways,omitempty"`

	// gatewayRefs are the Gateway API gateways the HTTPRoute is attached to.
	// +optional
	GatewayRefs []ParentReference `json:"gatewayRefs,omitempty"`

	// hosts the route answers for; with App Mesh they expose the apex
	// service through the App Mesh gateway.
	// +optional
	Hosts []string `json:"hosts,omitempty"`

	// meshName is the App Mesh mesh (v1beta1 objects only); the operator's
	// --mesh-name flag applies when empty.
	// +optional
	MeshName string `json:"meshName,omitempty"`

	// backends the App Mesh virtual nodes may call: virtual service names,
	// or ARNs (entries starting with "arn:aws").
	// +optional
	Backends []string `json:"backends,omitempty"`

	// headers, corsPolicy and rewrite are Istio settings. They are accepted
	// and kept so existing manifests apply; no current router reads them.
	// +optional
	Headers *apiextensionsv1.JSON `json:"headers,omitempty"`
	// +optional
	CorsPolicy *apiextensionsv1.JSON `json:"corsPolicy,omitempty"`
	// +optional
	Rewrite *apiextensionsv1.JSON `json:"rewrite,omitempty"`

	// apex, primary and canary add labels and annotations to the generated
	// services.
	// +optional
	Apex *CustomMetadata `json:"apex,omitempty"`
	// +optional
	Primary *CustomMetadata `json:"primary,omitempty"`
	// +optional
	Canary *CustomMetadata `json:"canary,omitempty"`
}

// HTTPRetry is a mesh retry policy.
type HTTPRetry struct {
	// attempts is the number of retries.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Attempts int `json:"attempts,omitempty"`

	// perTryTimeout bounds each attempt, e.g. 250ms.
	// +kubebuilder:validation:Pattern=`^[0-9]+(ms|s|m)$`
	// +optional
	PerTryTimeout string `json:"perTryTimeout,omitempty"`

	// retryOn lists the conditions to retry on, comma separated, e.g.
	// "gateway-error,connect-failure".
	// +optional
	RetryOn string `json:"retryOn,omitempty"`
}

// HTTPMatchRequest selects requests by headers or URI.
type HTTPMatchRequest struct {
	// headers to match, by header name.
	// +kubebuilder:validation:MaxProperties=16
	// +optional
	Headers map[string]StringMatch `json:"headers,omitempty"`

	// uri to match.
	// +optional
	URI *StringMatch `json:"uri,omitempty"`

	// method to match.
	// +optional
	Method *StringMatch `json:"method,omitempty"`

	// sourceLabels (Istio) are kept for compatibility.
	// +optional
	SourceLabels map[string]string `json:"sourceLabels,omitempty"`
}

// StringMatch matches a string one way.
//
// +kubebuilder:validation:XValidation:rule="(has(self.exact) ? 1 : 0) + (has(self.prefix) ? 1 : 0) + (has(self.suffix) ? 1 : 0) + (has(self.regex) ? 1 : 0) == 1",message="a string match sets exactly one of exact, prefix, suffix or regex"
type StringMatch struct {
	// exact value.
	// +optional
	Exact string `json:"exact,omitempty"`
	// prefix of the value.
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// suffix of the value.
	// +optional
	Suffix string `json:"suffix,omitempty"`
	// regex the value matches (RE2).
	// +optional
	Regex string `json:"regex,omitempty"`
}

// ParentReference is a Gateway API parent (a Gateway) of the HTTPRoute,
// with the field names of gateway.networking.k8s.io ParentReference.
type ParentReference struct {
	// group of the parent; gateway.networking.k8s.io when empty.
	// +optional
	Group *string `json:"group,omitempty"`
	// kind of the parent; Gateway when empty.
	// +optional
	Kind *string `json:"kind,omitempty"`
	// namespace of the parent; the Canary's when empty.
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// name of the parent.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`
	// sectionName is a listener name of the parent.
	// +optional
	SectionName *string `json:"sectionName,omitempty"`
	// port of the parent's listener.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port *int32 `json:"port,omitempty"`
}
