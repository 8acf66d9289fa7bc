// Package router turns a canary's traffic decisions into routing objects.
// Every provider implements Router; the ClusterIP services that all
// providers route to are reconciled by package router/kubernetes.
package router

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Weights split a canary's traffic, in percent; Primary + Canary = 100.
type Weights struct {
	Primary int
	Canary  int
	// Mirrored copies primary traffic to the canary (providers that can).
	Mirrored bool
}

// Router owns the routing objects of one provider.
type Router interface {
	// Reconcile creates or updates the routing objects for the canary. It
	// writes nothing when they already match, keeps fields others own, and
	// never changes the current weights: w are only the weights a missing
	// weighted object is created with (100/0 for a new canary; the status's
	// weights for one deleted by hand).
	Reconcile(ctx context.Context, c *flaggerv1.Canary, w Weights) error
	// SetRoutes writes the weights to the routing objects.
	SetRoutes(ctx context.Context, c *flaggerv1.Canary, w Weights) error
	// GetRoutes reads the weights from the routing objects, the source of
	// truth for where traffic goes.
	GetRoutes(ctx context.Context, c *flaggerv1.Canary) (Weights, error)
	// Finalize runs when the Canary is deleted, once the target workload is
	// available again: it routes all traffic to the target workload and
	// removes what would otherwise be left pointing at the primary.
	Finalize(ctx context.Context, c *flaggerv1.Canary) error
	// Cleanup deletes this provider's routing objects of the canary, when
	// the canary has moved to another provider.
	Cleanup(ctx context.Context, c *flaggerv1.Canary) error
}

// Mirrorer is implemented by routers that can mirror requests to the
// canary; others never report or write Weights.Mirrored.
type Mirrorer interface {
	SupportsMirroring() bool
}

// CanMirror reports whether r mirrors requests when asked to.
func CanMirror(r Router) bool {
	m, ok := r.(Mirrorer)
	return ok && m.SupportsMirroring()
}

// Weightless is implemented by routers that cannot split traffic by
// weight (the kubernetes provider): their routes never lag a status.
type Weightless interface {
	Weightless()
}

// NotReconciled says that a routing object the canary needs does not exist
// (yet): the reconciler treats it like any not-found read, as a cache that
// has not caught up with its own creation.
func NotReconciled(kind, name string) error {
	return fmt.Errorf("%s %s not found: the canary's routing is not reconciled yet: %w",
		kind, name, apierrors.NewNotFound(schema.GroupResource{Resource: strings.ToLower(kind) + "s"}, name))
}

// MissingKindError says that a provider's CRD is not installed.
type MissingKindError struct {
	// Kind and APIVersion of the missing resource, e.g. VirtualRouter and
	// appmesh.k8s.aws/v1beta2.
	Kind, APIVersion string
	// Install tells the user how to get it.
	Install string
	Err     error
}

func (e *MissingKindError) Error() string {
	return fmt.Sprintf("the %s kind (%s) is not installed in the cluster: %s", e.Kind, e.APIVersion, e.Install)
}

func (e *MissingKindError) Unwrap() error { return e.Err }

// CheckKind turns a "no matches for kind" error from the API server or the
// REST mapper into a MissingKindError; other errors pass unchanged.
func CheckKind(err error, kind, apiVersion, install string) error {
	if err != nil && (meta.IsNoMatchError(err) || discovery.IsGroupDiscoveryFailedError(err)) {
		return &MissingKindError{Kind: kind, APIVersion: apiVersion, Install: install, Err: err}
	}
	return err
}

// Providers are the provider names Serin implements, as spec.provider and
// the operator's -mesh-provider flag take them.
var Providers = []string{Kubernetes, AppMesh, AppMeshV1beta2, GatewayAPI, Istio, Linkerd}

// UnknownProviderError names a provider no router implements.
type UnknownProviderError struct{ Provider string }

func (e *UnknownProviderError) Error() string {
	last := len(Providers) - 1
	return fmt.Sprintf("provider %q is not supported: use %s or %s", e.Provider, strings.Join(Providers[:last], ", "), Providers[last])
}

// Factory returns the router of a provider.
type Factory struct {
	routers map[string]Router
}

// NewFactory maps provider names to routers.
func NewFactory(routers map[string]Router) *Factory { return &Factory{routers: routers} }

// Supported reports whether provider is one of Providers.
func Supported(provider string) bool { return slices.Contains(Providers, provider) }

// For returns the router of provider.
func (f *Factory) For(provider string) (Router, error) {
	if r, ok := f.routers[provider]; ok {
		return r, nil
	}
	return nil, &UnknownProviderError{Provider: provider}
}
