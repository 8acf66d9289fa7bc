package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VirtualService is the name clients call, with the virtual router and
// routes that decide where the calls go.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=all
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
	// meshName is the mesh the virtual service belongs to.
	// +required
	MeshName string `json:"meshName"`
	// virtualRouter is created in App Mesh for this service.
	// +optional
	VirtualRouter *VirtualRouter `json:"virtualRouter,omitempty"`
	// routes of the virtual router.
	// +optional
	Routes []Route `json:"routes,omitempty"`
}

// VirtualRouter is the virtual router embedded in a VirtualService.
type VirtualRouter struct {
	// name of the virtual router in App Mesh.
	// +required
	Name string `json:"name"`
	// listeners receive the virtual service's traffic.
	// +optional
	Listeners []VirtualRouterListener `json:"listeners,omitempty"`
}

// VirtualRouterListener is an inbound port of a virtual router.
type VirtualRouterListener struct {
	// portMapping is the port and protocol.
	// +required
	PortMapping PortMapping `json:"portMapping"`
}

// Route is one routing rule.
type Route struct {
	// name of the route, unique in the router.
	// +required
	Name string `json:"name"`
	// http routes HTTP requests.
	// +optional
	HTTP *HTTPRoute `json:"http,omitempty"`
	// priority orders the routes; lower values are tried first.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Priority *int64 `json:"priority,omitempty"`
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
}

// HTTPRouteMatch selects HTTP requests; all set criteria must match.
type HTTPRouteMatch struct {
	// prefix of the path to match.
	// +required
	Prefix string `json:"prefix"`
	// method to match.
	// +optional
	Method *string `json:"method,omitempty"`
	// headers to match.
	// +optional
	Headers []HTTPRouteHeader `json:"headers,omitempty"`
	// scheme to match: http or https.
	// +optional
	Scheme *string `json:"scheme,omitempty"`
}

// HTTPRouteHeader matches one request header.
type HTTPRouteHeader struct {
	// name of the header.
	// +required
	Name string `json:"name"`
	// invert matches requests the criteria do not match.
	// +optional
	Invert *bool `json:"invert,omitempty"`
	// match is how the value must match.
	// +optional
	Match *HeaderMatchMethod `json:"match,omitempty"`
}

// HeaderMatchMethod matches a header value one way.
type HeaderMatchMethod struct {
	// exact value.
	// +optional
	Exact *string `json:"exact,omitempty"`
	// prefix of the value.
	// +optional
	Prefix *string `json:"prefix,omitempty"`
	// range the value, a number, falls in.
	// +optional
	Range *MatchRange `json:"range,omitempty"`
	// regex the value matches.
	// +optional
	Regex *string `json:"regex,omitempty"`
	// suffix of the value.
	// +optional
	Suffix *string `json:"suffix,omitempty"`
}

// MatchRange is an integer range a header value must fall in.
type MatchRange struct {
	// start of the range, inclusive.
	// +optional
	Start *int64 `json:"start,omitempty"`
	// end of the range, exclusive.
	// +optional
	End *int64 `json:"end,omitempty"`
}

// HTTPRouteAction says where matched requests go.
type HTTPRouteAction struct {
	// weightedTargets share the traffic.
	// +required
	WeightedTargets []WeightedTarget `json:"weightedTargets"`
}

// WeightedTarget is a virtual node receiving a share of a route's traffic.
type WeightedTarget struct {
	// virtualNodeName is the VirtualNode object's name.
	// +required
	VirtualNodeName string `json:"virtualNodeName"`
	// weight of the target relative to the route's other targets.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +required
	Weight int64 `json:"weight"`
}

// HTTPRetryPolicy retries failed requests.
type HTTPRetryPolicy struct {
	// perRetryTimeoutMillis bounds each attempt.
	// +optional
	PerRetryTimeoutMillis *int64 `json:"perRetryTimeoutMillis,omitempty"`
	// maxRetries is the number of retries.
	// +optional
	MaxRetries *int64 `json:"maxRetries,omitempty"`
	// httpRetryEvents are the HTTP failures to retry on, e.g.
	// gateway-error.
	// +optional
	HTTPRetryEvents []string `json:"httpRetryEvents,omitempty"`
	// tcpRetryEvents are the TCP failures to retry on: connection-error.
	// +optional
	TCPRetryEvents []string `json:"tcpRetryEvents,omitempty"`
}

// VirtualServiceStatus is written by the App Mesh controller.
type VirtualServiceStatus struct {
	// virtualServiceArn is the virtual service's ARN in App Mesh.
	// +optional
	VirtualServiceArn *string `json:"virtualServiceArn,omitempty"`
	// virtualRouterArn is the virtual router's ARN in App Mesh.
	// +optional
	VirtualRouterArn *string `json:"virtualRouterArn,omitempty"`
	// routeArns are the routes' ARNs in App Mesh.
	// +optional
	RouteArns []string `json:"routeArns,omitempty"`
	// conditions of the virtual service.
	// +optional
	Conditions []Condition `json:"conditions,omitempty"`
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
