// Package linkerd implements the linkerd provider. It splits traffic with
// a Gateway API HTTPRoute named after the apex service and attached to
// that Service as its parent (group core, kind Service, the service port),
// which is how Linkerd 2.14 and later route calls to a Service. The route
// is the gatewayapi router's: weighted backendRefs to <svc>-primary and
// <svc>-canary, A/B rules from analysis.match, request timeouts, and
// spec.service.headers as header modifier filters. spec.service.retries
// becomes Linkerd's retry annotations on the route (Linkerd 2.16+).
//
// Flagger's linkerd provider wrote an SMI TrafficSplit, which Linkerd only
// reads through the linkerd-smi extension since 2.12; the policy.linkerd.io
// HTTPRoute is Linkerd's own copy of the Gateway API one, kept for
// features the upstream type lacked. The upstream HTTPRoute needs neither
// and is the type Linkerd's documentation uses for traffic splitting.
//
// Fields Linkerd cannot honour (Istio gateways, hosts, trafficPolicy,
// corsPolicy, rewrite, mirroring, session affinity, sourceLabels, App Mesh
// settings) are refused: by the CRD at admission when spec.provider is
// linkerd, by this router when the provider comes from --mesh-provider.
package linkerd

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/internal/router/gatewayapi"
)

// Provider is the spec.provider value of this router.
const Provider = "linkerd"

const install = "install the Gateway API CRDs that Linkerd reads (Linkerd 2.14 or later; linkerd install --crds installs them unless told not to), or choose another provider"

// Linkerd's retry annotations on an HTTPRoute.
const (
	retryHTTPAnnotation    = "retry.linkerd.io/http"
	retryLimitAnnotation   = "retry.linkerd.io/limit"
	retryTimeoutAnnotation = "retry.linkerd.io/timeout"
	// defaultRetryOn is what Linkerd retries when retryOn is empty.
	defaultRetryOn = "5xx"
)

// New returns the linkerd router. The scheme must know the Canary types.
func New(c client.Client, scheme *runtime.Scheme) router.Router {
	return gatewayapi.NewWithOptions(c, scheme, gatewayapi.Options{
		Provider:           Provider,
		Install:            install,
		ParentRefs:         serviceParent,
		NoHostnames:        true,
		Annotations:        retryAnnotations,
		ManagedAnnotations: []string{retryHTTPAnnotation, retryLimitAnnotation, retryTimeoutAnnotation},
	})
}

// serviceParent attaches the route to the apex Service's port.
func serviceParent(c *flaggerv1.Canary) []gatewayv1.ParentReference {
	return []gatewayv1.ParentReference{{
		Group: ptr.To(gatewayv1.Group("core")),
		Kind:  ptr.To(gatewayv1.Kind("Service")),
		Name:  gatewayv1.ObjectName(c.GetServiceName()),
		Port:  ptr.To(c.Spec.Service.Port),
	}}
}

// retryStatus is one of Linkerd's retry conditions: 5xx, gateway-error, a
// status code or a range of them.
var retryStatus = regexp.MustCompile(`^(5xx|gateway-error|[1-5][0-9][0-9](-[1-5][0-9][0-9])?)$`)

// retryAnnotations express spec.service.retries as Linkerd's annotations.
func retryAnnotations(c *flaggerv1.Canary) (map[string]string, error) {
	r := c.Spec.Service.Retries
	if r == nil {
		return nil, nil
	}
	on := r.RetryOn
	if on == "" {
		on = defaultRetryOn
	}
	var conditions []string
	for _, cond := range strings.Split(on, ",") {
		cond = strings.TrimSpace(cond)
		if !retryStatus.MatchString(cond) {
			return nil, &router.UnsupportedFieldError{Field: fmt.Sprintf("spec.service.retries.retryOn %q", cond), Provider: Provider,
				Reason: "Linkerd retries on 5xx, gateway-error, or status codes and ranges such as 503 or 500-504"}
		}
		conditions = append(conditions, cond)
	}
	out := map[string]string{retryHTTPAnnotation: strings.Join(conditions, ",")}
	if r.Attempts > 0 {
		out[retryLimitAnnotation] = strconv.Itoa(r.Attempts)
	}
	if r.PerTryTimeout != "" {
		out[retryTimeoutAnnotation] = r.PerTryTimeout
	}
	return out, nil
}
