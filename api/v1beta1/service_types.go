package v1beta1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// CanaryService describes the services the operator generates (apex,
// primary and canary) and the mesh routing in front of them.
//
// +kubebuilder:validation:XValidation:rule="!has(self.backendTimeout) || !has(self.timeout) || duration(self.backendTimeout) <= duration(self.timeout)",message="service.backendTimeout must not exceed service.timeout: a backend request is part of the request"
type CanaryService struct {
	// name of the apex service; the target's name when empty. The
	// services <name>-primary and <name>-canary must fit in the 63
	// characters of a DNS label too, so it has at most 55.
	// +kubebuilder:validation:MaxLength=55
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Name string `json:"name,omitempty"`

	// port the services expose.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +required
	Port int32 `json:"port"`

	// portName of the service port; "http" when empty. A name starting with
	// "grpc" makes App Mesh listeners use the gRPC protocol.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	PortName string `json:"portName,omitempty"`

	// targetPort is the container port, by number or name; port when unset.
	// A pointer, so that an unset port is omitted rather than sent as 0.
	// +kubebuilder:validation:XValidation:rule="type(self) == string || (self >= 1 && self <= 65535)",message="service.targetPort must be a port name or a number from 1 to 65535"
	// +optional
	TargetPort *intstr.IntOrString `json:"targetPort,omitempty"`

	// portDiscovery adds the target's other container ports to the apex,
	// primary and canary Services, named as the container names them or
	// tcp-<container>-<index>; ports of istio-proxy and envoy sidecars, and
	// ports whose name or number a Service already has, are left out.
	// +optional
	PortDiscovery bool `json:"portDiscovery,omitempty"`

	// appProtocol of the service port.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	AppProtocol string `json:"appProtocol,omitempty"`

	// timeout of a request through the mesh, e.g. 15s.
	// +kubebuilder:validation:Pattern=`^[0-9]+(ms|s|m)$`
	// +optional
	Timeout string `json:"timeout,omitempty"`

	// backendTimeout bounds each request from the gateway to a backend,
	// retries included separately, e.g. 5s (Gateway API routes:
	// gatewayapi:v1 and linkerd). It must not exceed timeout.
	// +kubebuilder:validation:Pattern=`^[0-9]+(ms|s|m)$`
	// +optional
	BackendTimeout string `json:"backendTimeout,omitempty"`

	// retries is the mesh retry policy.
	// +optional
	Retries *HTTPRetry `json:"retries,omitempty"`

	// match restricts the mesh route, e.g. to a URI prefix.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Match []HTTPMatchRequest `json:"match,omitempty"`

	// gateways are the Istio gateways the VirtualService is bound to; the
	// mesh gateway when empty (istio provider).
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=253
	// +optional
	Gateways []string `json:"gateways,omitempty"`

	// gatewayRefs are the Gateway API gateways the HTTPRoute is attached to.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	GatewayRefs []ParentReference `json:"gatewayRefs,omitempty"`

	// hosts the route answers for; with App Mesh they expose the apex
	// service through the App Mesh gateway.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=253
	// +optional
	Hosts []string `json:"hosts,omitempty"`

	// meshName is the App Mesh mesh (v1beta1 objects only); the operator's
	// --mesh-name flag applies when empty.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	MeshName string `json:"meshName,omitempty"`

	// backends the App Mesh virtual nodes may call: virtual service names,
	// or ARNs (entries starting with "arn:aws").
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	// +optional
	Backends []string `json:"backends,omitempty"`

	// headers are Istio header operations ({request, response} each with
	// set, add and remove): the istio provider puts them on the
	// VirtualService route, the linkerd provider turns them into HTTPRoute
	// header modifier filters.
	// +kubebuilder:validation:Type=object
	// +optional
	Headers *apiextensionsv1.JSON `json:"headers,omitempty"`
	// corsPolicy is an Istio CorsPolicy for the VirtualService route
	// (istio provider).
	// +kubebuilder:validation:Type=object
	// +optional
	CorsPolicy *apiextensionsv1.JSON `json:"corsPolicy,omitempty"`
	// rewrite rewrites the path and the authority of requests on the
	// route (providers istio and gatewayapi:v1).
	// +optional
	Rewrite *HTTPRewrite `json:"rewrite,omitempty"`
	// trafficPolicy is an Istio TrafficPolicy for the <svc>-primary and
	// <svc>-canary DestinationRules (istio provider).
	// +kubebuilder:validation:Type=object
	// +optional
	TrafficPolicy *apiextensionsv1.JSON `json:"trafficPolicy,omitempty"`

	// apex, primary and canary add labels and annotations to the generated
	// services.
	// +optional
	Apex *CustomMetadata `json:"apex,omitempty"`
	// +optional
	Primary *CustomMetadata `json:"primary,omitempty"`
	// +optional
	Canary *CustomMetadata `json:"canary,omitempty"`
}

// HTTPRewrite is Flagger's HTTPRewrite: Istio's uri and authority, and
// the kind of path rewrite a Gateway API route makes.
//
// +kubebuilder:validation:XValidation:rule="has(self.uri) || has(self.authority)",message="rewrite needs uri, authority or both"
// +kubebuilder:validation:XValidation:rule="!has(self.type) || has(self.uri)",message="rewrite.type says how uri replaces the path: set uri"
type HTTPRewrite struct {
	// uri replaces the matched prefix of a prefix match, or the whole path
	// (Gateway API: as type says).
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^/`
	// +optional
	URI string `json:"uri,omitempty"`
	// authority replaces the Host (authority) of the request.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Authority string `json:"authority,omitempty"`
	// type is the Gateway API path modifier: ReplaceFullPath (when empty)
	// or ReplacePrefixMatch (provider gatewayapi:v1 only; Istio replaces
	// the matched prefix of a prefix match and the whole path otherwise).
	// +kubebuilder:validation:Enum=ReplaceFullPath;ReplacePrefixMatch
	// +optional
	Type string `json:"type,omitempty"`
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
	// +kubebuilder:validation:MaxLength=512
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

	// queryParams to match, by parameter name.
	// +kubebuilder:validation:MaxProperties=16
	// +optional
	QueryParams map[string]StringMatch `json:"queryParams,omitempty"`

	// sourceLabels match the labels of the calling workload (istio
	// provider).
	// +kubebuilder:validation:MaxProperties=16
	// +optional
	SourceLabels map[string]string `json:"sourceLabels,omitempty"`
}

// StringMatch matches a string one way.
//
// +kubebuilder:validation:XValidation:rule="(has(self.exact) ? 1 : 0) + (has(self.prefix) ? 1 : 0) + (has(self.suffix) ? 1 : 0) + (has(self.regex) ? 1 : 0) == 1",message="a string match sets exactly one of exact, prefix, suffix or regex"
type StringMatch struct {
	// exact value.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Exact string `json:"exact,omitempty"`
	// prefix of the value.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// suffix of the value.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Suffix string `json:"suffix,omitempty"`
	// regex the value matches (RE2).
	// +kubebuilder:validation:MaxLength=1024
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
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// name of the parent.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
	// sectionName is a listener name of the parent.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	SectionName *string `json:"sectionName,omitempty"`
	// port of the parent's listener.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port *int32 `json:"port,omitempty"`
}
