package v1beta2

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// DurationUnit is the unit of a Duration.
// +kubebuilder:validation:Enum=s;ms
type DurationUnit string

// The units App Mesh accepts.
const (
	DurationUnitS  DurationUnit = "s"
	DurationUnitMS DurationUnit = "ms"
)

// Duration is a length of time in App Mesh's form: a unit and a count.
type Duration struct {
	// unit of value.
	// +required
	Unit DurationUnit `json:"unit"`
	// value is the number of units.
	// +kubebuilder:validation:Minimum=0
	// +required
	Value int64 `json:"value"`
}

// PortNumber is a TCP port.
// +kubebuilder:validation:Minimum=1
// +kubebuilder:validation:Maximum=65535
type PortNumber int64

// PortProtocol is the protocol of a listener.
// +kubebuilder:validation:Enum=grpc;http;http2;tcp
type PortProtocol string

// The listener protocols App Mesh knows.
const (
	PortProtocolGRPC  PortProtocol = "grpc"
	PortProtocolHTTP  PortProtocol = "http"
	PortProtocolHTTP2 PortProtocol = "http2"
	PortProtocolTCP   PortProtocol = "tcp"
)

// PortMapping is the port and protocol a listener receives traffic on.
type PortMapping struct {
	// port of the listener.
	// +required
	Port PortNumber `json:"port"`
	// protocol of the listener.
	// +required
	Protocol PortProtocol `json:"protocol"`
}

// VirtualNodeReference names a VirtualNode object.
type VirtualNodeReference struct {
	// namespace of the VirtualNode; the referring object's when unset.
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// name of the VirtualNode.
	// +required
	Name string `json:"name"`
}

// VirtualServiceReference names a VirtualService object.
type VirtualServiceReference struct {
	// namespace of the VirtualService; the referring object's when unset.
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// name of the VirtualService.
	// +required
	Name string `json:"name"`
}

// VirtualRouterReference names a VirtualRouter object.
type VirtualRouterReference struct {
	// namespace of the VirtualRouter; the referring object's when unset.
	// +optional
	Namespace *string `json:"namespace,omitempty"`
	// name of the VirtualRouter.
	// +required
	Name string `json:"name"`
}

// MeshReference names the Mesh an object belongs to. The App Mesh
// controller's admission webhook fills it in; Serin never writes it.
type MeshReference struct {
	// name of the Mesh.
	// +required
	Name string `json:"name"`
	// uid of the Mesh.
	// +required
	UID types.UID `json:"uid"`
}

// MatchRange is an integer range a header value must fall in.
type MatchRange struct {
	// start of the range, inclusive.
	// +required
	Start int64 `json:"start"`
	// end of the range, exclusive.
	// +required
	End int64 `json:"end"`
}

// HeaderMatchMethod matches a header (or gRPC metadata) value one way.
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

// Condition is a condition the App Mesh controller reports on an object.
type Condition struct {
	// type of the condition, e.g. VirtualNodeActive.
	// +required
	Type string `json:"type"`
	// status of the condition: True, False or Unknown.
	// +required
	Status corev1.ConditionStatus `json:"status"`
	// lastTransitionTime is when status last changed.
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
	// reason of the last transition.
	// +optional
	Reason *string `json:"reason,omitempty"`
	// message about the last transition, for humans.
	// +optional
	Message *string `json:"message,omitempty"`
}
