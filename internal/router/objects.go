package router

import (
	"context"
	"errors"
	"fmt"
	"maps"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/gitops"
)

// Kind names a routing kind in errors, so that a missing CRD becomes a
// MissingKindError the controller can report.
type Kind struct {
	// Name and APIVersion of the kind, e.g. VirtualService and
	// networking.istio.io/v1beta1.
	Name, APIVersion string
	// Install tells the user how to get the kind's CRD.
	Install string
}

// Err wraps err from verb on the object name of this kind.
func (k Kind) Err(verb, name string, err error) error {
	return fmt.Errorf("%s %s %s: %w", verb, k.Name, name, CheckKind(err, k.Name, k.APIVersion, k.Install))
}

// Object is a routing object of a canary, with its kind for errors.
type Object struct {
	Kind Kind
	Obj  client.Object
}

// Apply creates the object, or patches it when mutate changed it: an
// unchanged object costs no write, and fields mutate leaves alone (those a
// mesh controller defaults, others' labels and annotations, the status)
// are kept. mutate learns whether the object exists, to keep its weights.
// The patch carries the resourceVersion read, so weights read from a stale
// cache are never written back over newer ones.
func Apply(ctx context.Context, cl client.Client, scheme *runtime.Scheme, c *flaggerv1.Canary, o Object, mutate func(exists bool) error) error {
	found, err := Get(ctx, cl, o, false)
	if err != nil {
		return err
	}
	before := o.Obj.DeepCopyObject().(client.Object)
	if err := mutate(found); err != nil {
		return fmt.Errorf("%s %s: %w", o.Kind.Name, o.Obj.GetName(), err)
	}
	if err := controllerutil.SetControllerReference(c, o.Obj, scheme); err != nil {
		return fmt.Errorf("own %s %s: %w", o.Kind.Name, o.Obj.GetName(), err)
	}
	gitops.Mark(o.Obj)
	if !found {
		if err := cl.Create(ctx, o.Obj); err != nil {
			return o.Kind.Err("create", o.Obj.GetName(), err)
		}
		return nil
	}
	return Patch(ctx, cl, o, before)
}

// Patch writes the changes from before to o, if any.
func Patch(ctx context.Context, cl client.Client, o Object, before client.Object) error {
	// The merge patch is exactly what would be written: empty means equal,
	// whatever nil-versus-empty differences the Go values have.
	diff, err := client.MergeFrom(before).Data(o.Obj)
	if err != nil {
		return fmt.Errorf("compute patch of %s %s: %w", o.Kind.Name, o.Obj.GetName(), err)
	}
	if string(diff) == "{}" {
		return nil
	}
	p := client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
	if err := cl.Patch(ctx, o.Obj, p); err != nil {
		return o.Kind.Err("patch", o.Obj.GetName(), err)
	}
	return nil
}

// Get reads an object; found is false when it does not exist, and a
// missing kind counts as not found when tolerateMissingKind is set.
func Get(ctx context.Context, cl client.Client, o Object, tolerateMissingKind bool) (found bool, err error) {
	err = cl.Get(ctx, client.ObjectKeyFromObject(o.Obj), o.Obj)
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err), tolerateMissingKind && meta.IsNoMatchError(err):
		return false, nil
	default:
		return false, o.Kind.Err("get", o.Obj.GetName(), err)
	}
}

// DeleteOwned deletes the objects the canary controls. Objects of a kind
// that is not installed cannot exist, and objects someone else controls
// are not ours to delete.
func DeleteOwned(ctx context.Context, cl client.Client, c *flaggerv1.Canary, objs []Object) error {
	var errs []error
	for _, o := range objs {
		found, err := Get(ctx, cl, o, true)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !found || !metav1.IsControlledBy(o.Obj, c) {
			continue
		}
		uid := o.Obj.GetUID()
		if err := cl.Delete(ctx, o.Obj, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			errs = append(errs, o.Kind.Err("delete", o.Obj.GetName(), err))
		}
	}
	return errors.Join(errs...)
}

// AddMetadata adds the labels and annotations of m (spec.service.apex)
// to a routing object, keeping others'.
func AddMetadata(obj metav1.Object, m *flaggerv1.CustomMetadata) {
	if m == nil {
		return
	}
	if len(m.Labels) > 0 {
		labels := obj.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, m.Labels)
		obj.SetLabels(labels)
	}
	if len(m.Annotations) > 0 {
		annotations := obj.GetAnnotations()
		if annotations == nil {
			annotations = map[string]string{}
		}
		maps.Copy(annotations, m.Annotations)
		obj.SetAnnotations(annotations)
	}
}
