package appmesh

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

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

// kind names an App Mesh kind in errors, so that a missing CRD becomes a
// router.MissingKindError the controller can report.
type kind struct {
	name, apiVersion, install string
}

var (
	virtualNodeV1beta2    = kind{"VirtualNode", "appmesh.k8s.aws/v1beta2", installV1beta2}
	virtualRouterV1beta2  = kind{"VirtualRouter", "appmesh.k8s.aws/v1beta2", installV1beta2}
	virtualServiceV1beta2 = kind{"VirtualService", "appmesh.k8s.aws/v1beta2", installV1beta2}
	virtualNodeV1beta1    = kind{"VirtualNode", "appmesh.k8s.aws/v1beta1", installV1beta1}
	virtualServiceV1beta1 = kind{"VirtualService", "appmesh.k8s.aws/v1beta1", installV1beta1}
)

func (k kind) err(verb, name string, err error) error {
	return fmt.Errorf("%s %s %s: %w", verb, k.name, name, router.CheckKind(err, k.name, k.apiVersion, k.install))
}

// object is an App Mesh object of a canary, with its kind for errors.
type object struct {
	kind kind
	obj  client.Object
}

// apply creates the object, or patches it when mutate changed it: an
// unchanged object costs no write, and fields mutate leaves alone (the App
// Mesh controller's awsName, meshRef and status, others' labels and
// annotations) are kept. mutate learns whether the object exists, to keep
// its weights. The patch carries the resourceVersion read, so weights read
// from a stale cache are never written back over newer ones.
func apply(ctx context.Context, cl client.Client, scheme *runtime.Scheme, c *flaggerv1.Canary, o object, mutate func(exists bool) error) error {
	found, err := get(ctx, cl, o, false)
	if err != nil {
		return err
	}
	before := o.obj.DeepCopyObject().(client.Object)
	if err := mutate(found); err != nil {
		return fmt.Errorf("%s %s: %w", o.kind.name, o.obj.GetName(), err)
	}
	if err := controllerutil.SetControllerReference(c, o.obj, scheme); err != nil {
		return fmt.Errorf("own %s %s: %w", o.kind.name, o.obj.GetName(), err)
	}
	if !found {
		if err := cl.Create(ctx, o.obj); err != nil {
			return o.kind.err("create", o.obj.GetName(), err)
		}
		return nil
	}
	return patch(ctx, cl, o, before)
}

// patch writes the changes from before to o, if any.
func patch(ctx context.Context, cl client.Client, o object, before client.Object) error {
	// The merge patch is exactly what would be written: empty means equal,
	// whatever nil-versus-empty differences the Go values have.
	diff, err := client.MergeFrom(before).Data(o.obj)
	if err != nil {
		return fmt.Errorf("compute patch of %s %s: %w", o.kind.name, o.obj.GetName(), err)
	}
	if string(diff) == "{}" {
		return nil
	}
	p := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
	if err := cl.Patch(ctx, o.obj, p); err != nil {
		return o.kind.err("patch", o.obj.GetName(), err)
	}
	return nil
}

// get reads an object; found is false when it does not exist, and a
// missing kind counts as not found when tolerateMissingKind is set.
func get(ctx context.Context, cl client.Client, o object, tolerateMissingKind bool) (found bool, err error) {
	err = cl.Get(ctx, client.ObjectKeyFromObject(o.obj), o.obj)
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err), tolerateMissingKind && meta.IsNoMatchError(err):
		return false, nil
	default:
		return false, o.kind.err("get", o.obj.GetName(), err)
	}
}

// deleteOwned deletes the objects the canary controls. Objects of a kind
// that is not installed cannot exist, and objects someone else controls
// are not ours to delete.
func deleteOwned(ctx context.Context, cl client.Client, c *flaggerv1.Canary, objs []object) error {
	var errs []error
	for _, o := range objs {
		found, err := get(ctx, cl, o, true)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !found || !metav1.IsControlledBy(o.obj, c) {
			continue
		}
		uid := o.obj.GetUID()
		if err := cl.Delete(ctx, o.obj, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			errs = append(errs, o.kind.err("delete", o.obj.GetName(), err))
		}
	}
	return errors.Join(errs...)
}

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
