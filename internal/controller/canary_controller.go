// Package controller holds the Canary reconciler: it reads the cluster
// through the informer cache, asks the routers and workload helpers to
// converge the generated objects, and records progress in the Canary's
// status, conditions and events.
package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/internal/router/kubernetes"
	"github.com/serin-dev/serin/internal/telemetry"
	"github.com/serin-dev/serin/internal/workload"
)

// +kubebuilder:rbac:groups=flagger.app,resources=canaries,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=flagger.app,resources=canaries/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=flagger.app,resources=canaries/finalizers,verbs=update
// +kubebuilder:rbac:groups=flagger.app,resources=metrictemplates;alertproviders,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services;configmaps;secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete

// CanaryReconciler reconciles Canaries.
type CanaryReconciler struct {
	client.Client
	Scheme *runtime.Scheme
	// Recorder writes core/v1 Events, as Flagger does: unlike events.k8s.io
	// series, they keep each distinct message.
	Recorder record.EventRecorder
	Clock    clock.PassiveClock
	Routers  *router.Factory
	Services *kubernetes.Services
	Webhooks Webhooks
	Metrics  MetricsChecker
	// Telemetry may be nil (tests that do not export metrics).
	Telemetry *telemetry.Recorder
	// DefaultProvider applies to canaries without spec.provider.
	DefaultProvider string
	// SelectorLabels are the candidate selector labels, in order.
	SelectorLabels []string
	// ApexAnnotations returns a provider's annotations for the apex
	// service (App Mesh gateway settings); nil adds none.
	ApexAnnotations func(provider string, c *flaggerv1.Canary) map[string]string
}

// scope is what one reconcile of a canary works on.
type scope struct {
	canary     *flaggerv1.Canary
	target     *appsv1.Deployment
	primary    *appsv1.Deployment // read by observe
	labelKey   string
	labelValue string
	provider   string
	router     router.Router
}

// Reconcile converges one Canary. Its status is written once, at the end,
// and only when it changed.
func (r *CanaryReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	canary := &flaggerv1.Canary{}
	if err := r.Get(ctx, req.NamespacedName, canary); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := canary.DeepCopy()
	defer func() {
		err := r.patchStatus(ctx, before, canary)
		switch {
		case apierrors.IsConflict(err):
			res, retErr = ctrl.Result{RequeueAfter: conflictRetry}, nil
		case err != nil:
			retErr = kerrors.NewAggregate([]error{retErr, err})
		}
	}()
	// persist writes the status now; the deferred write then has nothing
	// left to do unless the status changes again.
	persist := func() error {
		if err := r.patchStatus(ctx, before, canary); err != nil {
			return err
		}
		before = canary.DeepCopy()
		return nil
	}
	if !canary.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, canary)
	}
	if err := r.syncFinalizer(ctx, canary); err != nil {
		return ctrl.Result{}, err
	}
	s, err := r.newScope(ctx, canary)
	if err != nil {
		return ctrl.Result{}, r.reportProblem(ctx, canary, err)
	}
	res, err = r.reconcileCanary(ctx, s, persist)
	if apierrors.IsConflict(err) || errors.Is(err, errCacheLag) {
		// The cache had not seen our own last write yet; try again with a
		// fresh read rather than report a problem.
		ctrl.LoggerFrom(ctx).V(1).Info("Conflict, retrying", "error", err.Error())
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	if err != nil {
		return res, r.reportProblem(ctx, canary, err)
	}
	r.setReady(canary)
	return res, nil
}

// reconcileCanary initializes a new canary, or keeps the routing in shape
// and runs the analysis of an initialized one.
func (r *CanaryReconciler) reconcileCanary(ctx context.Context, s *scope, persist func() error) (ctrl.Result, error) {
	switch s.canary.Status.Phase {
	case "", flaggerv1.CanaryPhaseInitializing:
		return r.initialize(ctx, s, persist)
	}
	if err := r.reconcileRouting(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	start := r.Clock.Now()
	defer func() { r.Telemetry.ObserveStep(s.canary, r.Clock.Since(start)) }()
	return r.analyse(ctx, s, persist)
}

// newScope reads the target and picks the router.
func (r *CanaryReconciler) newScope(ctx context.Context, c *flaggerv1.Canary) (*scope, error) {
	ref := c.Spec.TargetRef
	if ref.Kind != "Deployment" {
		return nil, &problem{reason: "UnsupportedTarget", stalled: true,
			message: fmt.Sprintf("spec.targetRef.kind %s is not supported yet: only Deployment targets can be released", ref.Kind)}
	}
	target := &appsv1.Deployment{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: ref.Name}, target); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, &problem{reason: "TargetNotFound",
				message: fmt.Sprintf("Deployment %s not found in namespace %s: create it or correct spec.targetRef.name", ref.Name, c.Namespace)}
		}
		return nil, fmt.Errorf("get target deployment %s: %w", ref.Name, err)
	}
	key, value, err := workload.SelectorLabel(target, r.SelectorLabels)
	if err != nil {
		return nil, &problem{reason: "SelectorLabelMissing", stalled: true, message: err.Error()}
	}
	provider := c.GetProvider(r.DefaultProvider)
	rt, err := r.Routers.For(provider)
	if err != nil {
		return nil, &problem{reason: "UnknownProvider", stalled: true, message: err.Error()}
	}
	return &scope{canary: c, target: target, labelKey: key, labelValue: value, provider: provider, router: rt}, nil
}

// reconcileRouting converges the services and the provider's routing
// objects. When the canary moved to another provider, the new routing
// takes over the current weights before the old provider's objects go.
func (r *CanaryReconciler) reconcileRouting(ctx context.Context, s *scope) error {
	set := kubernetes.ServiceSet{LabelKey: s.labelKey, LabelValue: s.labelValue, ApexAnnotations: r.apexAnnotations(s)}
	if err := r.Services.Reconcile(ctx, s.canary, set); err != nil {
		return err
	}
	if err := s.router.Reconcile(ctx, s.canary); err != nil {
		return fmt.Errorf("reconcile routing for provider %s: %w", s.provider, err)
	}
	c := s.canary
	if c.Status.Provider == s.provider {
		return nil
	}
	if c.Status.Provider != "" {
		if err := r.convergeRoutes(ctx, s); err != nil {
			return err
		}
		if old, err := r.Routers.For(c.Status.Provider); err == nil {
			if err := old.Cleanup(ctx, c); err != nil && !isMissingKind(err) {
				return fmt.Errorf("remove routing of previous provider %s: %w", c.Status.Provider, err)
			}
		}
		r.info(ctx, c, "ProviderChanged", "Routing of %s moved from %s to %s", c, c.Status.Provider, s.provider)
	}
	c.Status.Provider = s.provider
	return nil
}

// patchStatus writes the status subresource when it changed, and only if
// nobody wrote it since it was read.
func (r *CanaryReconciler) patchStatus(ctx context.Context, before, after *flaggerv1.Canary) error {
	if equality.Semantic.DeepEqual(before.Status, after.Status) {
		return nil
	}
	// An update, not a merge patch: it carries the resourceVersion read, so
	// a step decided on a stale cached status fails with a conflict instead
	// of being applied twice, and it writes zero counters (weight 0) that a
	// patch computed as a diff would leave out.
	if err := r.Status().Update(ctx, after); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("patch status of canary %s: %w", after, err)
	}
	return nil
}

// errCacheLag marks a read that missed an object the operator just wrote.
var errCacheLag = errors.New("cache has not caught up with a write")

// conflictRetry is how soon a reconcile that lost a write race runs again.
const conflictRetry = 200 * time.Millisecond

// now is the reconciler's clock, truncated as the API stores times.
func (r *CanaryReconciler) now() time.Time { return r.Clock.Now().Truncate(time.Second) }

// problem is a condition the user must act on; it becomes a Ready=False
// condition and a Warning event. Stalled problems need a spec or target
// change; others may clear by themselves.
type problem struct {
	reason  string
	message string
	stalled bool
}

func (p *problem) Error() string { return p.message }

// asProblem unwraps a problem, or wraps an unexpected error as one.
func asProblem(err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	if isMissingKind(err) {
		return &problem{reason: "MeshNotInstalled", message: err.Error(), stalled: true}
	}
	return &problem{reason: "ReconcileError", message: err.Error()}
}

// apexAnnotations are the provider's annotations for the apex service.
func (r *CanaryReconciler) apexAnnotations(s *scope) map[string]string {
	if r.ApexAnnotations == nil {
		return nil
	}
	return r.ApexAnnotations(s.provider, s.canary)
}
