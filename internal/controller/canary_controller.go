// Package controller holds the Canary reconciler: it reads the cluster
// through the informer cache, asks the routers and workload helpers to
// converge the generated objects, and records progress in the Canary's
// status, conditions and events.
package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	"github.com/serin-dev/serin/internal/analysis"
	"github.com/serin-dev/serin/internal/configdata"
	"github.com/serin-dev/serin/internal/gitops"
	"github.com/serin-dev/serin/internal/history"
	"github.com/serin-dev/serin/internal/notify"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/internal/router/kubernetes"
	"github.com/serin-dev/serin/internal/telemetry"
	"github.com/serin-dev/serin/internal/workload"
)

// The operator's permissions, beside the code that needs them (the
// routers declare theirs). Reads go through the informer cache, so get
// comes with list and watch; writes are patches and creates: generated
// objects are removed by the garbage collector through their owner
// references, never deleted here. See rbac_test.go for how the generated
// ClusterRole is held to what the operator does.
//
// Canaries: the finalizer is patched, the status is written with an update
// (an optimistic lock). canaries/finalizers is checked by the API server
// (OwnerReferencesPermissionEnforcement) when an owner reference blocks
// the canary's deletion.
// +kubebuilder:rbac:groups=flagger.app,resources=canaries,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=flagger.app,resources=canaries/status,verbs=update
// +kubebuilder:rbac:groups=flagger.app,resources=canaries/finalizers,verbs=update
// +kubebuilder:rbac:groups=flagger.app,resources=metrictemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=flagger.app,resources=alertproviders,verbs=get;list;watch
// The primary Deployment and autoscaler are created and patched.
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch
// A deleted primary is restored from the target's ReplicaSet that ran the
// last promoted revision, listed uncached (see primary.go).
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=list
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch
// ConfigMaps and Secrets are watched metadata-only; get reads the contents
// of those a canary uses, create and patch write their -primary copies.
// +kubebuilder:rbac:groups="",resources=configmaps;secrets,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// Leader election: a Lease in the operator's namespace.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update,namespace=serin-system

// CanaryReconciler reconciles Canaries.
type CanaryReconciler struct {
	client.Client
	// APIReader reads what the cache does not hold (the target's
	// ReplicaSets, to restore a deleted primary); rarely used.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	// Recorder writes core/v1 Events, as Flagger does: unlike events.k8s.io
	// series, they keep each distinct message.
	Recorder record.EventRecorder
	Clock    clock.PassiveClock
	Routers  *router.Factory
	// LiveRouters are the same routers on an uncached client, reading the
	// API server instead of the cache: asked only when the cached routes
	// differ from a cached status, to tell routes someone changed from a
	// cache that has not yet seen the operator's own write. Nil trusts the
	// cache.
	LiveRouters *router.Factory
	Services    *kubernetes.Services
	Webhooks    Webhooks
	Metrics     MetricsChecker
	// Notifier delivers each event to the canary's event webhooks and the
	// operator's, in the background.
	Notifier Notifier
	// Alerts chooses the chat alerts of each event (analysis.alerts, or the
	// operator's -slack-url and -msteams-url); nil sends none.
	Alerts AlertSinks
	// Telemetry may be nil (tests that do not export metrics).
	Telemetry *telemetry.Recorder
	// StepTimeout bounds the webhook calls and metric queries of one
	// reconcile of a canary; DefaultStepTimeout when zero.
	StepTimeout time.Duration
	// DefaultProvider applies to canaries without spec.provider.
	DefaultProvider string
	// SelectorLabels are the candidate selector labels, in order.
	SelectorLabels []string
	// Copy decides which labels and annotations of the target, its
	// autoscaler and configs their generated copies carry.
	Copy gitops.CopyRule
	// ApexAnnotations returns a provider's annotations for the apex
	// service (App Mesh gateway settings); nil adds none.
	ApexAnnotations func(provider string, c *flaggerv1.Canary) map[string]string
	// DisableConfigTracking stops copying the target's ConfigMaps and
	// Secrets to <name>-primary and treating their changes as revisions
	// (the operator's -enable-config-tracking=false).
	DisableConfigTracking bool
	// Configs reads the ConfigMaps and Secrets the targets use; they are
	// watched metadata-only, not cached.
	Configs *configdata.Reader
	// NoCrossNamespaceRefs refuses canaries whose templateRef or
	// providerRef names another namespace (--no-cross-namespace-refs).
	NoCrossNamespaceRefs bool

	// writes are the operator's own status writes the cache may not have
	// seen yet.
	writes ownWrites
}

// Notifier queues notifications for delivery; it never blocks.
type Notifier interface {
	Notify(n notify.Notification, sinks ...notify.Sink)
}

// AlertSinks chooses the alert sinks of a notification.
type AlertSinks interface {
	Sinks(c *flaggerv1.Canary, n notify.Notification) []notify.Sink
}

// DefaultStepTimeout is the default of CanaryReconciler.StepTimeout: long
// enough for a Helm test or conformance suite run as a pre-rollout hook.
const DefaultStepTimeout = 5 * time.Minute

// scope is what one reconcile of a canary works on.
type scope struct {
	canary     *flaggerv1.Canary
	target     *appsv1.Deployment
	primary    *appsv1.Deployment // read by observe
	labelKey   string
	labelValue string
	provider   string
	router     router.Router
	copyRule   gitops.CopyRule
}

// Reconcile converges one Canary. Its status is written once, at the end,
// and only when it changed; steps that must be recorded before they are
// carried out write it earlier.
func (r *CanaryReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	canary := &flaggerv1.Canary{}
	if err := r.Get(ctx, req.NamespacedName, canary); err != nil {
		if apierrors.IsNotFound(err) {
			r.Telemetry.Forget(req.Namespace, req.Name)
			r.writes.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.writes.stale(req.NamespacedName, canary.ResourceVersion) {
		// The watch event of the operator's own write is on its way and
		// brings the canary back; the requeue only covers a lost event.
		return ctrl.Result{RequeueAfter: ownWriteWait}, nil
	}
	before := canary.DeepCopy()
	defer func() {
		held, err := r.patchStatus(ctx, before, canary)
		switch {
		case apierrors.IsConflict(err):
			res, retErr = ctrl.Result{RequeueAfter: conflictRetry}, nil
		case err != nil:
			retErr = kerrors.NewAggregate([]error{retErr, err})
		case held > 0 && retErr == nil && (res.RequeueAfter == 0 || res.RequeueAfter > held):
			// Come back to write the message if the wait lasts.
			res.RequeueAfter = held
		}
	}()
	// persist writes the status now; the deferred write then has nothing
	// left to do unless the status changes again. A status held back (only
	// a waiting message changed) stays for the deferred write to decide.
	persist := func() error {
		held, err := r.patchStatus(ctx, before, canary)
		if err != nil {
			return err
		}
		if held == 0 {
			before = canary.DeepCopy()
		}
		return nil
	}
	if !canary.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, canary, persist)
	}
	if err := r.refuseSharedTarget(ctx, canary); err != nil {
		return r.handleProblem(ctx, &scope{canary: canary}, err, persist)
	}
	if err := r.syncFinalizer(ctx, canary); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.refuseCrossNamespaceRefs(canary); err != nil {
		return r.handleProblem(ctx, &scope{canary: canary}, err, persist)
	}
	s, err := r.newScope(ctx, canary)
	if err != nil {
		return r.handleProblem(ctx, s, err, persist)
	}
	res, err = r.reconcileCanary(ctx, s, persist)
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || errors.Is(err, errCacheLag) {
		// The cache had not seen our own last write yet (a conflict, or a
		// creation of what the cache said was missing); try again with a
		// fresh read rather than report a problem.
		ctrl.LoggerFrom(ctx).V(1).Info("Conflict, retrying", "error", err.Error())
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	if err != nil {
		return r.handleProblem(ctx, s, err, persist)
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
	if err := r.takeOver(ctx, s, persist); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.reconcileRouting(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	start := r.Clock.Now()
	defer func() { r.Telemetry.ObserveStep(s.canary, r.Clock.Since(start)) }()
	return r.analyse(ctx, s, persist)
}

// newScope picks the router and reads the target. When the target is
// missing, the scope it returns with the error still has the router, so
// the traffic of a release in progress can be sent back to the primary.
func (r *CanaryReconciler) newScope(ctx context.Context, c *flaggerv1.Canary) (*scope, error) {
	s := &scope{canary: c, provider: c.GetProvider(r.DefaultProvider), copyRule: r.Copy}
	ref := c.Spec.TargetRef
	if ref.Kind != "Deployment" {
		return s, &problem{reason: "UnsupportedTarget", stalled: true, terminal: true,
			message: fmt.Sprintf("spec.targetRef.kind %s is not supported: Serin releases Deployments only", ref.Kind)}
	}
	rt, err := r.Routers.For(s.provider)
	if err != nil {
		return s, &problem{reason: "UnknownProvider", stalled: true, terminal: true, message: err.Error()}
	}
	s.router = rt
	// The CRD refuses these when spec.provider names the provider; one
	// that comes from --mesh-provider is checked here, in the same words.
	if err := router.CheckFields(c, s.provider); err != nil {
		return s, err
	}
	target := &appsv1.Deployment{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: ref.Name}, target); err != nil {
		if apierrors.IsNotFound(err) {
			return s, &problem{reason: "TargetNotFound", gone: "target Deployment " + ref.Name + " was deleted",
				message: fmt.Sprintf("Deployment %s not found in namespace %s: create it or correct spec.targetRef.name", ref.Name, c.Namespace)}
		}
		return s, fmt.Errorf("get target deployment %s: %w", ref.Name, err)
	}
	key, value, err := workload.SelectorLabel(target, r.SelectorLabels)
	if err != nil {
		return s, &problem{reason: "SelectorLabelMissing", stalled: true, terminal: true, message: err.Error()}
	}
	s.target, s.labelKey, s.labelValue = target, key, value
	return s, nil
}

// refuseCrossNamespaceRefs stalls a canary that names a MetricTemplate or
// AlertProvider in another namespace when the operator runs with
// --no-cross-namespace-refs: in a cluster shared by tenants, another
// namespace's template would run with that namespace's credentials.
func (r *CanaryReconciler) refuseCrossNamespaceRefs(c *flaggerv1.Canary) error {
	a := c.GetAnalysis()
	if !r.NoCrossNamespaceRefs || a == nil {
		return nil
	}
	field := "spec.analysis"
	if c.Spec.Analysis == nil {
		field = "spec.canaryAnalysis"
	}
	var refused []string
	for i, m := range a.Metrics {
		if ref := m.TemplateRef; ref != nil && ref.Namespace != "" && ref.Namespace != c.Namespace {
			refused = append(refused, fmt.Sprintf("%s.metrics[%d].templateRef.namespace %s", field, i, ref.Namespace))
		}
	}
	for i, al := range a.Alerts {
		if ns := al.ProviderRef.Namespace; ns != "" && ns != c.Namespace {
			refused = append(refused, fmt.Sprintf("%s.alerts[%d].providerRef.namespace %s", field, i, ns))
		}
	}
	if len(refused) == 0 {
		return nil
	}
	return &problem{reason: "CrossNamespaceRefsRefused", stalled: true, terminal: true, message: fmt.Sprintf(
		"The operator refuses references to other namespaces (--no-cross-namespace-refs): %s; use a MetricTemplate or AlertProvider in namespace %s",
		strings.Join(refused, ", "), c.Namespace)}
}

// reconcileRouting converges the services and the provider's routing
// objects; a routing object that is missing (new, or deleted by hand) is
// created with the weights the status asks for. When the canary moved to
// another provider, the new routing takes over the current weights before
// the old provider's objects go.
func (r *CanaryReconciler) reconcileRouting(ctx context.Context, s *scope) error {
	set := kubernetes.ServiceSet{LabelKey: s.labelKey, LabelValue: s.labelValue, ApexAnnotations: r.apexAnnotations(s),
		Containers: s.target.Spec.Template.Spec.Containers}
	if err := r.Services.Reconcile(ctx, s.canary, set); err != nil {
		return err
	}
	c := s.canary
	if err := s.router.Reconcile(ctx, c, routerWeights(analysis.DesiredWeights(c, c.Status))); err != nil {
		return fmt.Errorf("reconcile routing for provider %s: %w", s.provider, err)
	}
	if c.Status.Provider == s.provider {
		return nil
	}
	if c.Status.Provider != "" {
		if _, err := r.convergeRoutes(ctx, s, statusCached); err != nil {
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
// nobody wrote it since it was read. A change of the waiting message alone
// is held back while the status was written less than waitingMessageEvery
// ago; held is then how long until it may be written.
func (r *CanaryReconciler) patchStatus(ctx context.Context, before, after *flaggerv1.Canary) (held time.Duration, err error) {
	if equality.Semantic.DeepEqual(before.Status, after.Status) {
		return 0, nil
	}
	key := client.ObjectKeyFromObject(after)
	if onlyWaitingChanged(&before.Status, &after.Status) {
		if last := r.writes.statusWrittenAt(key); !last.IsZero() {
			if held := last.Add(waitingMessageEvery).Sub(r.Clock.Now()); held > 0 {
				return held, nil
			}
		}
	}
	// The step's record rides on the write the step makes anyway.
	after.Status.History = history.Next(&before.Status, &after.Status, r.now())
	// An update, not a merge patch: it carries the resourceVersion read, so
	// a step decided on a stale cached status fails with a conflict instead
	// of being applied twice, and it writes zero counters (weight 0) that a
	// patch computed as a diff would leave out.
	read := after.ResourceVersion
	if err := r.Status().Update(ctx, after); err != nil {
		if apierrors.IsNotFound(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("patch status of canary %s: %w", after, err)
	}
	r.writes.wrote(key, read, r.Clock.Now())
	return 0, nil
}

// errCacheLag marks a read that missed an object the operator just wrote.
var errCacheLag = errors.New("cache has not caught up with a write")

// ownWriteWait is how soon a canary whose cached copy predates the
// operator's own write is reconciled again if no watch event comes first.
const ownWriteWait = time.Second

// conflictRetry is how soon a reconcile that lost a write race runs again.
const conflictRetry = 200 * time.Millisecond

// now is the reconciler's clock, truncated as the API stores times.
func (r *CanaryReconciler) now() time.Time { return r.Clock.Now().Truncate(time.Second) }

// stepTimeout is the budget of one reconcile's webhook calls and queries.
func (r *CanaryReconciler) stepTimeout() time.Duration {
	if r.StepTimeout > 0 {
		return r.StepTimeout
	}
	return DefaultStepTimeout
}

// apexAnnotations are the provider's annotations for the apex service.
func (r *CanaryReconciler) apexAnnotations(s *scope) map[string]string {
	if r.ApexAnnotations == nil {
		return nil
	}
	return r.ApexAnnotations(s.provider, s.canary)
}
