package controller

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
	"github.com/serin-dev/serin/internal/levers"
	"github.com/serin-dev/serin/internal/notify"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/internal/workload"
)

// Webhooks calls a canary's webhooks.
type Webhooks interface {
	// Run calls the webhooks of type t in order.
	Run(ctx context.Context, c *flaggerv1.Canary, t flaggerv1.HookType, checksum string) []analysis.HookResult
	// EventSinks are where the canary's events are delivered: its event
	// webhooks and the operator's.
	EventSinks(c *flaggerv1.Canary) []notify.Sink
}

// MetricsChecker runs a canary's metric checks.
type MetricsChecker interface {
	Check(ctx context.Context, c *flaggerv1.Canary, provider string) []analysis.MetricResult
	// Compare measures the metrics with compare for the canary and the
	// primary over the window that ends now.
	Compare(ctx context.Context, c *flaggerv1.Canary, provider string, window time.Duration) []analysis.ComparisonResult
}

// analyse runs one step of the release and then makes the cluster match
// the new status, in this order: the status is written; the routes, the
// promotion and the scaling follow it (on a rollback: all traffic to the
// primary first); only then are the step's messages sent and any
// post-rollout webhooks called. A restart at any point resumes from the
// status without repeating the step, and nothing a receiver does can
// delay the routes.
func (r *CanaryReconciler) analyse(ctx context.Context, s *scope, persist func() error) (ctrl.Result, error) {
	c := s.canary
	configs, err := r.readConfigs(ctx, c, s.target)
	if err != nil {
		return ctrl.Result{}, err
	}
	obs, err := r.observe(ctx, s, configs)
	if err != nil {
		return ctrl.Result{}, err
	}
	// Routes that lag the status (a restart between a step's status write
	// and its routes, or a hand edit) are put right before the next step,
	// which then waits a full interval: a weight is judged only after it
	// carried traffic.
	if obs.RoutesRestored, err = r.convergeRoutes(ctx, s, statusCached); err != nil {
		return ctrl.Result{}, err
	}
	calls, cancel := context.WithTimeout(ctx, r.stepTimeout())
	defer cancel()
	// The queries run at the wall clock's time, not at obs.Now (which is
	// truncated to the second): replay asks as of this time.
	stepped := r.Clock.Now()
	d := analysis.Step(c, obs, &liveChecks{ctx: calls, r: r, canary: c, provider: s.provider})
	previous, before, after := c.Status.Phase, c.Status.LastAnalysis, d.Status.LastAnalysis.DeepCopy()
	c.Status = d.Status
	read := c.ResourceVersion
	if err := persist(); err != nil {
		return ctrl.Result{}, err
	}
	r.Telemetry.Analysed(c, before, after, stepped)
	r.recordStep(c, before, after, stepped)
	convergeErr := r.converge(ctx, s, configs, persist, statusSource(c, read))
	r.announce(ctx, c, d.Events)
	r.Telemetry.Transition(c, previous)
	if convergeErr != nil {
		return ctrl.Result{}, convergeErr
	}
	if err := r.callPostRollout(calls, s, persist); err != nil {
		return ctrl.Result{}, err
	}
	if c.Status.PendingPostRollout != "" {
		// The step used the budget up: call them in a reconcile of their own.
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	return ctrl.Result{RequeueAfter: dueAfter(d.RequeueAfter, r.Clock.Since(stepped))}, nil
}

// recordStep remembers when the step that wrote after ran, if it took one,
// and how late it was: due an interval after the step before it, if this
// process ran that one. A step taken early (the weight reached the routes
// only now, which restarts the interval) was not due and is not counted.
func (r *CanaryReconciler) recordStep(c *flaggerv1.Canary, before, after *flaggerv1.AnalysisRecord, at time.Time) {
	if after == nil || analysis.SameStep(before, after) {
		return
	}
	key := client.ObjectKeyFromObject(c)
	if prev := r.writes.steppedAt(key, before); !prev.IsZero() {
		if late := at.Sub(prev.Add(c.GetInterval())); late >= 0 {
			r.Telemetry.StepLate(late)
		}
	}
	r.writes.stepped(key, after, at)
}

// dueAfter is how long from now the next step is due: wait counts from the
// step, which ran took ago, not from the end of its writes, so that under
// a slow API server the steps do not come later and later by the time
// each step's writes took. 0 (wait for a change) stays 0; a step already
// due is requeued at once.
func dueAfter(wait, took time.Duration) time.Duration {
	if wait <= 0 {
		return wait
	}
	return max(wait-took, time.Millisecond)
}

// callPostRollout calls the post-rollout webhooks a release still owes,
// now that the routes and the scaling match its final status, and then
// clears the debt. Their failures are reported, not retried. With no
// budget left in ctx the debt stays for the next reconcile.
func (r *CanaryReconciler) callPostRollout(ctx context.Context, s *scope, persist func() error) error {
	c := s.canary
	sum := c.Status.PendingPostRollout
	if sum == "" || ctx.Err() != nil {
		return nil
	}
	var failed []analysis.Event
	for _, res := range r.Webhooks.Run(ctx, c, flaggerv1.PostRolloutHook, sum) {
		if res.Err != nil {
			failed = append(failed, analysis.Event{Warning: true, Message: fmt.Sprintf("Post-rollout hook %s failed %v", res.Name, res.Err)})
		}
	}
	c.Status.PendingPostRollout = ""
	if err := persist(); err != nil {
		return err
	}
	r.announce(ctx, c, failed)
	return nil
}

// observe reads what the analysis step needs to know, restoring a primary
// deleted by hand first.
func (r *CanaryReconciler) observe(ctx context.Context, s *scope, configs []trackedConfig) (analysis.Observation, error) {
	c := s.canary
	primary := &appsv1.Deployment{}
	err := r.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: workload.PrimaryName(s.target.Name)}, primary)
	if apierrors.IsNotFound(err) {
		primary, err = r.restorePrimary(ctx, s)
	}
	if err != nil {
		return analysis.Observation{}, fmt.Errorf("get primary %s: %w", workload.PrimaryName(s.target.Name), err)
	}
	if primary.Spec.Replicas != nil && (c.Status.PrimaryReplicas == nil || *c.Status.PrimaryReplicas != *primary.Spec.Replicas) {
		replicas := *primary.Spec.Replicas
		c.Status.PrimaryReplicas = &replicas
	}
	a := c.GetAnalysis()
	canaryPerc, primaryPerc := flaggerv1.DefaultReadyPerc, flaggerv1.DefaultReadyPerc
	if a != nil && a.CanaryReadyThreshold != nil {
		canaryPerc = *a.CanaryReadyThreshold
	}
	if a != nil && a.PrimaryReadyThreshold != nil {
		primaryPerc = *a.PrimaryReadyThreshold
	}
	s.primary = primary
	want := primary.DeepCopy()
	s.primarySpec(configs).ApplyTemplate(want)
	return analysis.Observation{
		Now:              r.now(),
		Target:           analysis.Revision{TemplateHash: workload.TemplateHash(&s.target.Spec.Template), Configs: checksums(configs)},
		CanaryReady:      workload.DeploymentReadiness(s.target, canaryPerc),
		PrimaryReady:     workload.DeploymentReadiness(primary, primaryPerc),
		PrimaryPromoted:  workload.SameTemplate(&want.Spec.Template, &primary.Spec.Template),
		CanaryScaledDown: s.target.Spec.Replicas != nil && *s.target.Spec.Replicas == 0,
		Levers:           levers.Requests(c),
		SinceLastStep:    r.sinceLastStep(c),
	}, nil
}

// sinceLastStep is how long ago this process ran the step that wrote c's
// last analysis record; 0 when it did not.
func (r *CanaryReconciler) sinceLastStep(c *flaggerv1.Canary) time.Duration {
	at := r.writes.steppedAt(client.ObjectKeyFromObject(c), c.Status.LastAnalysis)
	if at.IsZero() {
		return 0
	}
	return r.Clock.Since(at)
}

// converge makes the workloads and routes match the status: scale the
// canary up, promote, move traffic, then scale the canary down, in the
// order that never leaves traffic on a stopped canary.
func (r *CanaryReconciler) converge(ctx context.Context, s *scope, configs []trackedConfig, persist func() error, status routeCheck) error {
	c := s.canary
	scale := analysis.DesiredScale(c.Status)
	if scale == analysis.ScaleUp && (s.target.Spec.Replicas == nil || *s.target.Spec.Replicas == 0) {
		if err := r.scaleTarget(ctx, s, scaleUpReplicas(s.primary)); err != nil {
			return err
		}
	}
	if c.Status.Phase == flaggerv1.CanaryPhasePromoting && workload.TemplateHash(&s.target.Spec.Template) == c.Status.LastAppliedSpec {
		if err := r.promotePrimary(ctx, s, configs); err != nil {
			return err
		}
	}
	if _, err := r.convergeRoutes(ctx, s, status); err != nil {
		return err
	}
	if scale == analysis.ScaleToZero {
		return r.scaleDown(ctx, s, persist)
	}
	return nil
}

// routeCheck says where the status that routes converge to comes from.
type routeCheck int

const (
	// statusWritten: this reconcile just wrote it, so it is the canary's
	// latest and routes that differ from it are due to move.
	statusWritten routeCheck = iota
	// statusCached: it comes from the cache, which may lag the operator's
	// own writes of the canary or of its routes.
	statusCached
)

// statusSource is statusWritten when persist wrote c's status (its
// resourceVersion moved on from read).
func statusSource(c *flaggerv1.Canary, read string) routeCheck {
	if c.ResourceVersion != read {
		return statusWritten
	}
	return statusCached
}

// convergeRoutes writes the status's weights when the routing objects
// carry others, and reports whether it did. A cached status is checked
// first (two uncached reads, only when the routes differ): a canary one
// step behind its routes would otherwise move the weight back (40 → 35 →
// 40), and routes only the cache has not seen yet need no writing.
func (r *CanaryReconciler) convergeRoutes(ctx context.Context, s *scope, status routeCheck) (bool, error) {
	if _, ok := s.router.(router.Weightless); ok {
		return false, nil
	}
	want := routerWeights(analysis.DesiredWeights(s.canary, s.canary.Status))
	if !router.CanMirror(s.router) {
		want.Mirrored = false
	}
	got, err := s.router.GetRoutes(ctx, s.canary)
	if apierrors.IsNotFound(err) {
		// Created moments ago (a new provider) and not in the cache yet.
		return false, fmt.Errorf("%w: %w", errCacheLag, err)
	}
	if err != nil {
		return false, fmt.Errorf("read routes: %w", err)
	}
	if got == want {
		return false, nil
	}
	if status == statusCached {
		if stale, err := r.staleCanary(ctx, s.canary); err != nil {
			return false, fmt.Errorf("read canary: %w", err)
		} else if stale {
			return false, errCacheLag
		}
		if lag, err := r.routesCacheLags(ctx, s, want); err != nil || lag {
			return false, err
		}
	}
	if err := s.router.SetRoutes(ctx, s.canary, want); err != nil {
		return false, fmt.Errorf("set routes %d/%d: %w", want.Primary, want.Canary, err)
	}
	return true, nil
}

// routesCacheLags reports whether the API server's routes already carry
// want, which the cached ones do not: the cache has not yet seen the
// operator's last write of them, and nothing needs restoring.
func (r *CanaryReconciler) routesCacheLags(ctx context.Context, s *scope, want router.Weights) (bool, error) {
	if r.LiveRouters == nil {
		return false, nil
	}
	live, err := r.LiveRouters.For(s.provider)
	if err != nil {
		return false, err
	}
	got, err := live.GetRoutes(ctx, s.canary)
	if err != nil {
		return false, fmt.Errorf("read routes from the API server: %w", err)
	}
	return got == want, nil
}

// staleCanary reports whether the API server holds a newer canary than c.
// It reads uncached, so it is only asked when routes need writing.
func (r *CanaryReconciler) staleCanary(ctx context.Context, c *flaggerv1.Canary) (bool, error) {
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(flaggerv1.GroupVersion.WithKind("Canary"))
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(c), live); err != nil {
		return false, err
	}
	return live.ResourceVersion != c.ResourceVersion, nil
}

// promotePrimary copies the analysed template, configs and the target's
// metadata (by the copy rule) to the primary.
func (r *CanaryReconciler) promotePrimary(ctx context.Context, s *scope, configs []trackedConfig) error {
	if err := r.copyConfigs(ctx, s.canary, configs); err != nil {
		return err
	}
	if err := r.reconcilePrimaryAutoscaler(ctx, s.canary); err != nil {
		return err
	}
	want := s.primary.DeepCopy()
	spec := s.primarySpec(configs)
	spec.ApplyTemplate(want)
	workload.KeepFlaggerID(&want.Spec.Template, &s.primary.Spec.Template)
	spec.ApplyMetadata(want)
	if equality.Semantic.DeepEqual(want.Spec.Template, s.primary.Spec.Template) &&
		equality.Semantic.DeepEqual(want.ObjectMeta, s.primary.ObjectMeta) {
		return nil
	}
	if err := r.Patch(ctx, want, client.MergeFrom(s.primary)); err != nil {
		return fmt.Errorf("promote template to %s: %w", s.primary.Name, err)
	}
	return nil
}

// scaleUpReplicas gives the canary the primary's capacity.
func scaleUpReplicas(primary *appsv1.Deployment) int32 {
	if primary.Spec.Replicas != nil && *primary.Spec.Replicas > 0 {
		return *primary.Spec.Replicas
	}
	return 1
}

// liveChecks runs webhooks and metrics for the analysis step, within the
// step's budget (ctx).
type liveChecks struct {
	ctx      context.Context
	r        *CanaryReconciler
	canary   *flaggerv1.Canary
	provider string
}

func (l *liveChecks) Hooks(t flaggerv1.HookType) []analysis.HookResult {
	res := l.r.Webhooks.Run(l.ctx, l.canary, t, analysis.Checksum(l.canary.Status))
	for i := range res {
		if res[i].Err != nil && l.ctx.Err() != nil {
			res[i].Err = fmt.Errorf("no answer within the analysis step's budget of %s (--step-timeout)", l.r.stepTimeout())
		}
	}
	return res
}

func (l *liveChecks) Metrics() []analysis.MetricResult {
	res := l.r.Metrics.Check(l.ctx, l.canary, l.provider)
	l.r.Telemetry.MetricResults(l.canary, res)
	return res
}

func (l *liveChecks) Compare(window time.Duration) []analysis.ComparisonResult {
	return l.r.Metrics.Compare(l.ctx, l.canary, l.provider, window)
}
