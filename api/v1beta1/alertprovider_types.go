package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AlertProvider is a chat or incident service that receives a canary's
// events.
//
// +kubebuilder:object:root=true
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AlertProvider struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says where and how to send alerts.
	// +required
	Spec AlertProviderSpec `json:"spec"`
}

// AlertProviderSpec is an alert destination.
//
// +kubebuilder:validation:XValidation:rule="has(self.address) || has(self.secretRef)",message="an AlertProvider needs address or secretRef (a Secret with the key address)"
type AlertProviderSpec struct {
	// type of the service.
	// +kubebuilder:validation:Enum=slack;msteams;discord;rocket;gchat
	// +required
	Type string `json:"type"`

	// channel to post to (Slack).
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Channel string `json:"channel,omitempty"`

	// username shown as the sender.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Username string `json:"username,omitempty"`

	// address is the webhook URL.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="address must be an absolute http or https URL"
	// +optional
	Address string `json:"address,omitempty"`

	// proxy for the calls.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",message="proxy must be an absolute http or https URL"
	// +optional
	Proxy string `json:"proxy,omitempty"`

	// secretRef names a Secret, in the provider's namespace, with the key
	// address (and optionally proxy), as in Flagger: an incoming-webhook URL
	// is itself the credential, so the Secret carries its own address and
	// deliveries go only there, never to an address from elsewhere.
	// +optional
	SecretRef *corev1.LocalObjectReference `json:"secretRef,omitempty"`
}

// +kubebuilder:object:root=true

// AlertProviderList is a list of AlertProviders.
type AlertProviderList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AlertProvider `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AlertProvider{}, &AlertProviderList{})
}
