package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PortMapping is the port and protocol a listener receives traffic on.
type PortMapping struct {
	// port of the listener.
	// +required
	Port int64 `json:"port"`
	// protocol of the listener: http, http2, grpc or tcp.
	// +required
	Protocol string `json:"protocol"`
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
