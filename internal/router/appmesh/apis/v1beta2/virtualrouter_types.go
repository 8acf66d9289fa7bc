package v1beta2

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VirtualRouter splits a virtual service's traffic between virtual nodes
// by route and weight.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all
// +kubebuilder:printcolumn:name="ARN",type=string,JSONPath=`.status.virtualRouterARN`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type VirtualRouter struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired virtual router.
	// +optional
	Spec VirtualRouterSpec `json:"spec,omitempty"`
	// status is written by the App Mesh controller.
	// +optional
	Status VirtualRouterStatus `json:"status,omitempty"`
}

// VirtualRouterSpec is the desired state of a VirtualRouter.
type VirtualRouterSpec struct {
	// awsName is the virtual router's name in App Mesh; the App Mesh
	// controller defaults it to name_namespace.
	// +optional
	AWSName *string `json:"awsName,omitempty"`
	// listeners receive the virtual service's traffic.
	// +kubebuilder:validation:MinItems=1
	// +optional
	Listeners []VirtualRouterListener `json:"listeners,omitempty"`
	// routes match requests and send them to weighted targets.
	// +optional
	Routes []Route `json:"routes,omitempty"`
	// meshRef is filled in by the App Mesh controller from the Mesh's
	// namespace selector.
	// +optional
	MeshRef *MeshReference `json:"meshRef,omitempty"`
}

// VirtualRouterListener is an inbound port of a virtual router.
type VirtualRouterListener struct {
	// portMapping is the port and protocol.
	// +required
	PortMapping PortMapping `json:"portMapping"`
}

// Route is one routing rule; exactly one of its protocol routes is set.
type Route struct {
	// name of the route, unique in the router.
	// +required
	Name string `json:"name"`
	// grpcRoute routes gRPC requests.
	// +optional
	GRPCRoute *GRPCRoute `json:"grpcRoute,omitempty"`
	// httpRoute routes HTTP/1 requests.
	// +optional
	HTTPRoute *HTTPRoute `json:"httpRoute,omitempty"`
	// http2Route routes HTTP/2 requests.
	// +optional
	HTTP2Route *HTTPRoute `json:"http2Route,omitempty"`
	// priority orders the routes; lower values are tried first.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Priority *int64 `json:"priority,omitempty"`
}

// WeightedTarget is a virtual node receiving a share of a route's traffic.
type WeightedTarget struct {
	// virtualNodeRef names a VirtualNode object.
	// +optional
	VirtualNodeRef *VirtualNodeReference `json:"virtualNodeRef,omitempty"`
	// virtualNodeARN is the ARN of a virtual node in App Mesh.
	// +optional
	VirtualNodeARN *string `json:"virtualNodeARN,omitempty"`
	// weight of the target relative to the route's other targets.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +required
	Weight int64 `json:"weight"`
	// port of the target's listener.
	// +optional
	Port *int64 `json:"port,omitempty"`
}

// HTTPRoute routes HTTP requests.
type HTTPRoute struct {
	// match selects the requests.
	// +required
	Match HTTPRouteMatch `json:"match"`
	// action says where they go.
	// +required
	Action HTTPRouteAction `json:"action"`
	// retryPolicy retries failed requests.
	// +optional
	RetryPolicy *HTTPRetryPolicy `json:"retryPolicy,omitempty"`
	// timeout bounds requests.
	// +optional
	Timeout *HTTPTimeout `json:"timeout,omitempty"`
}

// HTTPRouteMatch selects HTTP requests; all set criteria must match.
type HTTPRouteMatch struct {
	// headers to match.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	Headers []HTTPRouteHeader `json:"headers,omitempty"`
	// method to match.
	// +optional
	Method *string `json:"method,omitempty"`
	// prefix of the path to match.
	// +optional
	Prefix *string `json:"prefix,omitempty"`
	// scheme to match: http or https.
	// +optional
	Scheme *string `json:"scheme,omitempty"`
}

// HTTPRouteHeader matches one request header.
type HTTPRouteHeader struct {
	// name of the header.
	// +required
	Name string `json:"name"`
	// match is how the value must match.
	// +optional
	Match *HeaderMatchMethod `json:"match,omitempty"`
	// invert matches requests the criteria do not match.
	// +optional
	Invert *bool `json:"invert,omitempty"`
}

// HTTPRouteAction says where matched HTTP requests go.
type HTTPRouteAction struct {
	// weightedTargets share the traffic.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	// +required
	WeightedTargets []WeightedTarget `json:"weightedTargets"`
}

// HTTPRetryPolicyEvent is an HTTP failure to retry on.
// +kubebuilder:validation:Enum=server-error;gateway-error;client-error;stream-error
type HTTPRetryPolicyEvent string

// TCPRetryPolicyEvent is a TCP failure to retry on.
// +kubebuilder:validation:Enum=connection-error
type TCPRetryPolicyEvent string

// GRPCRetryPolicyEvent is a gRPC failure to retry on.
// +kubebuilder:validation:Enum=cancelled;deadline-exceeded;internal;resource-exhausted;unavailable
type GRPCRetryPolicyEvent string

// HTTPRetryPolicy retries failed HTTP requests.
type HTTPRetryPolicy struct {
	// httpRetryEvents are the HTTP failures to retry on.
	// +optional
	HTTPRetryEvents []HTTPRetryPolicyEvent `json:"httpRetryEvents,omitempty"`
	// tcpRetryEvents are the TCP failures to retry on.
	// +optional
	TCPRetryEvents []TCPRetryPolicyEvent `json:"tcpRetryEvents,omitempty"`
	// maxRetries is the number of retries.
	// +kubebuilder:validation:Minimum=0
	// +required
	MaxRetries int64 `json:"maxRetries"`
	// perRetryTimeout bounds each attempt.
	// +required
	PerRetryTimeout Duration `json:"perRetryTimeout"`
}

// HTTPTimeout bounds HTTP requests.
type HTTPTimeout struct {
	// perRequest bounds a whole request.
	// +optional
	PerRequest *Duration `json:"perRequest,omitempty"`
	// idle bounds the time without activity.
	// +optional
	Idle *Duration `json:"idle,omitempty"`
}

// GRPCRoute routes gRPC requests.
type GRPCRoute struct {
	// match selects the requests.
	// +required
	Match GRPCRouteMatch `json:"match"`
	// action says where they go.
	// +required
	Action GRPCRouteAction `json:"action"`
	// retryPolicy retries failed requests.
	// +optional
	RetryPolicy *GRPCRetryPolicy `json:"retryPolicy,omitempty"`
	// timeout bounds requests.
	// +optional
	Timeout *GRPCTimeout `json:"timeout,omitempty"`
}

// GRPCRouteMatch selects gRPC requests; an empty match selects all.
type GRPCRouteMatch struct {
	// methodName to match; needs serviceName.
	// +optional
	MethodName *string `json:"methodName,omitempty"`
	// serviceName to match, fully qualified.
	// +optional
	ServiceName *string `json:"serviceName,omitempty"`
	// metadata (request headers) to match.
	// +kubebuilder:validation:MaxItems=10
	// +optional
	Metadata []GRPCRouteMetadata `json:"metadata,omitempty"`
}

// GRPCRouteMetadata matches one metadata entry.
type GRPCRouteMetadata struct {
	// name of the entry.
	// +required
	Name string `json:"name"`
	// match is how the value must match; App Mesh gives it the same shape
	// as a header match.
	// +optional
	Match *HeaderMatchMethod `json:"match,omitempty"`
	// invert matches requests the criteria do not match.
	// +optional
	Invert *bool `json:"invert,omitempty"`
}

// GRPCRouteAction says where matched gRPC requests go.
type GRPCRouteAction struct {
	// weightedTargets share the traffic.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	// +required
	WeightedTargets []WeightedTarget `json:"weightedTargets"`
}

// GRPCRetryPolicy retries failed gRPC requests.
type GRPCRetryPolicy struct {
	// grpcRetryEvents are the gRPC failures to retry on.
	// +optional
	GRPCRetryEvents []GRPCRetryPolicyEvent `json:"grpcRetryEvents,omitempty"`
	// httpRetryEvents are the HTTP failures to retry on.
	// +optional
	HTTPRetryEvents []HTTPRetryPolicyEvent `json:"httpRetryEvents,omitempty"`
	// tcpRetryEvents are the TCP failures to retry on.
	// +optional
	TCPRetryEvents []TCPRetryPolicyEvent `json:"tcpRetryEvents,omitempty"`
	// maxRetries is the number of retries.
	// +kubebuilder:validation:Minimum=0
	// +required
	MaxRetries int64 `json:"maxRetries"`
	// perRetryTimeout bounds each attempt.
	// +required
	PerRetryTimeout Duration `json:"perRetryTimeout"`
}

// GRPCTimeout bounds gRPC requests.
type GRPCTimeout struct {
	// perRequest bounds a whole request.
	// +optional
	PerRequest *Duration `json:"perRequest,omitempty"`
	// idle bounds the time without activity.
	// +optional
	Idle *Duration `json:"idle,omitempty"`
}

// VirtualRouterStatus is written by the App Mesh controller.
type VirtualRouterStatus struct {
	// virtualRouterARN is the virtual router's ARN in App Mesh.
	// +optional
	VirtualRouterARN *string `json:"virtualRouterARN,omitempty"`
	// routeARNs maps route names to their ARNs in App Mesh.
	// +optional
	RouteARNs map[string]string `json:"routeARNs,omitempty"`
	// conditions of the virtual router.
	// +optional
	Conditions []Condition `json:"conditions,omitempty"`
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration *int64 `json:"observedGeneration,omitempty"`
}

// +kubebuilder:object:root=true

// VirtualRouterList is a list of VirtualRouters.
type VirtualRouterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VirtualRouter `json:"items"`
}

func init() {
	SchemeBuilder.Register(&VirtualRouter{}, &VirtualRouterList{})
}
