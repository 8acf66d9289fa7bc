package appmesh

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
)

// DefaultSelectorLabels are the selector labels tried, in order, when a
// router's SelectorLabels is empty; they match the operator's
// --selector-labels default.
var DefaultSelectorLabels = []string{"app", "name", "app.kubernetes.io/name"}

const (
	installV1beta2 = "install the AWS App Mesh controller and its CRDs (Helm chart eks/appmesh-controller), or choose another provider"
	installV1beta1 = "install the App Mesh controller v0.x CRDs (appmesh.k8s.aws/v1beta1), or move the canary to provider appmesh:v1beta2 with the current App Mesh controller"
)

var (
	virtualNodeV1beta2    = router.Kind{Name: "VirtualNode", APIVersion: "appmesh.k8s.aws/v1beta2", Install: installV1beta2}
	virtualRouterV1beta2  = router.Kind{Name: "VirtualRouter", APIVersion: "appmesh.k8s.aws/v1beta2", Install: installV1beta2}
	virtualServiceV1beta2 = router.Kind{Name: "VirtualService", APIVersion: "appmesh.k8s.aws/v1beta2", Install: installV1beta2}
	virtualNodeV1beta1    = router.Kind{Name: "VirtualNode", APIVersion: "appmesh.k8s.aws/v1beta1", Install: installV1beta1}
	virtualServiceV1beta1 = router.Kind{Name: "VirtualService", APIVersion: "appmesh.k8s.aws/v1beta1", Install: installV1beta1}
)

// getTarget reads the target Deployment, whose selector and ports the
// virtual nodes follow.
func getTarget(ctx context.Context, cl client.Client, c *flaggerv1.Canary) (*appsv1.Deployment, error) {
	ref := c.Spec.TargetRef
	if ref.Kind != "Deployment" {
		return nil, fmt.Errorf("spec.targetRef.kind %s is not supported by the App Mesh routers: use a Deployment", ref.Kind)
	}
	d := &appsv1.Deployment{}
	if err := cl.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: ref.Name}, d); err != nil {
		return nil, fmt.Errorf("get target deployment %s: %w", ref.Name, err)
	}
	return d, nil
}

// listenerPort is the port the virtual nodes and routers listen on:
// service.targetPort, else service.port. App Mesh needs a number, so a
// named target port is looked up in the target's containers; target is
// only called then.
func listenerPort(c *flaggerv1.Canary, target func() (*appsv1.Deployment, error)) (int64, error) {
	tp := c.GetTargetPort()
	switch {
	case tp.Type == intstr.String && tp.StrVal != "":
		d, err := target()
		if err != nil {
			return 0, err
		}
		for _, ctr := range d.Spec.Template.Spec.Containers {
			for _, p := range ctr.Ports {
				if p.Name == tp.StrVal {
					return int64(p.ContainerPort), nil
				}
			}
		}
		return 0, fmt.Errorf("spec.service.targetPort %q names no container port of deployment %s", tp.StrVal, d.Name)
	case tp.Type == intstr.Int && tp.IntVal > 0:
		return int64(tp.IntVal), nil
	default:
		return int64(c.Spec.Service.Port), nil
	}
}
