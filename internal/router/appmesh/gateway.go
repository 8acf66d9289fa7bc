package appmesh

import (
	"strconv"
	"strings"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Annotations the App Mesh gateway reads from a Service to expose it.
const (
	GatewayExposeAnnotation  = "gateway.appmesh.k8s.aws/expose"
	GatewayDomainAnnotation  = "gateway.appmesh.k8s.aws/domain"
	GatewayTimeoutAnnotation = "gateway.appmesh.k8s.aws/timeout"
	GatewayRetriesAnnotation = "gateway.appmesh.k8s.aws/retries"
)

// Gateway defaults when service.timeout or service.retries is unset.
const (
	DefaultGatewayTimeout = "15s"
	DefaultGatewayRetries = "0"
)

// GatewayAnnotations are the annotations that expose the apex service
// through the App Mesh gateway for service.hosts; nil when hosts is empty,
// so the service is not exposed.
func GatewayAnnotations(c *flaggerv1.Canary) map[string]string {
	svc := c.Spec.Service
	if len(svc.Hosts) == 0 {
		return nil
	}
	timeout := svc.Timeout
	if timeout == "" {
		timeout = DefaultGatewayTimeout
	}
	retries := DefaultGatewayRetries
	if svc.Retries != nil {
		retries = strconv.Itoa(svc.Retries.Attempts)
	}
	return map[string]string{
		GatewayExposeAnnotation:  "true",
		GatewayDomainAnnotation:  strings.Join(svc.Hosts, ","),
		GatewayTimeoutAnnotation: timeout,
		GatewayRetriesAnnotation: retries,
	}
}
