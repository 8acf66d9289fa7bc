package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
	"github.com/serin-dev/serin/internal/workload"
)

// Webhooks calls a canary's webhooks.
type Webhooks interface {
	// Run calls the webhooks of type t in order.
	Run(ctx context.Context, c *flaggerv1.Canary, t flaggerv1.HookType, checksum string) []analysis.HookResult
	// Event sends a message to the event webhooks.
	Event(ctx context.Context, c *flaggerv1.Canary, eventType, message string)
}

// MetricsChecker runs a canary's metric checks.
type MetricsChecker interface {
	Check(ctx context.Context, c *flaggerv1.Canary, provider string) []analysis.MetricResult
}

// analyse runs one step of the release and then makes the cluster match
// the new status. The status is written before anything else, so a
// restart at any point resumes from it without repeating the step.
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
	checks := &liveChecks{ctx: ctx, r: r, canary: c, provider: s.provider}
	d := analysis.Step(c, obs, checks)
	previous := c.Status.Phase
	c.Status = d.Status
	if err := persist(); err != nil {
		return ctrl.Result{}, err
	}
	r.announce(ctx, c, d.Events)
	r.Telemetry.Transition(c, previous)
	if err := r.converge(ctx, s, configs); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: d.RequeueAfter}, nil
}

// observe reads what the analysis step needs to know.
func (r *CanaryReconciler) observe(ctx context.Context, s *scope, configs []trackedConfig) (analysis.Observation, error) {
	c := s.canary
	primary := &appsv1.Deployment{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: workload.PrimaryName(s.target.Name)}, primary); err != nil {
		return analysis.Observation{}, fmt.Errorf("get primary %s: %w", workload.PrimaryName(s.target.Name), err)
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
		PrimaryPromoted:  equality.Semantic.DeepEqual(want.Spec.Template, primary.Spec.Template),
		CanaryScaledDown: s.target.Spec.Replicas != nil && *s.target.Spec.Replicas == 0,
	}, nil
}

// converge makes the workloads and routes match the status: scale the
// canary up, promote, move traffic, then scale the canary down, in the
// order that never leaves traffic on a stopped canary.
func (r *CanaryReconciler) converge(ctx context.Context, s *scope, configs []trackedConfig) error {
	c := s.canary
	scale := analysis.DesiredScale(c.Status)
	if scale == analysis.ScaleUp && (s.target.Spec.Replicas == nil || *s.target.Spec.Replicas == 0) {
		if err := r.scaleTo(ctx, s.target, scaleUpReplicas(s.primary)); err != nil {
			return err
		}
	}
	if c.Status.Phase == flaggerv1.CanaryPhasePromoting && workload.TemplateHash(&s.target.Spec.Template) == c.Status.LastAppliedSpec {
		if err := r.promotePrimary(ctx, s, configs); err != nil {
			return err
		}
	}
	if err := r.convergeRoutes(ctx, s); err != nil {
		return err
	}
	if scale == analysis.ScaleToZero {
		return r.scaleTo(ctx, s.target, 0)
	}
	return nil
}

// convergeRoutes writes the status's weights when the routing objects
// carry others.
func (r *CanaryReconciler) convergeRoutes(ctx context.Context, s *scope) error {
	want := analysis.DesiredWeights(s.canary, s.canary.Status)
	got, err := s.router.GetRoutes(ctx, s.canary)
	if apierrors.IsNotFound(err) {
		// Created moments ago (a new provider) and not in the cache yet.
		return fmt.Errorf("%w: %w", errCacheLag, err)
	}
	if err != nil {
		return fmt.Errorf("read routes: %w", err)
	}
	if got.Primary == want.Primary && got.Canary == want.Canary {
		return nil
	}
	if err := s.router.SetRoutes(ctx, s.canary, routerWeights(want)); err != nil {
		return fmt.Errorf("set routes %d/%d: %w", want.Primary, want.Canary, err)
	}
	return nil
}

// promotePrimary copies the analysed template and configs to the primary.
func (r *CanaryReconciler) promotePrimary(ctx context.Context, s *scope, configs []trackedConfig) error {
	if err := r.copyConfigs(ctx, s.canary, configs); err != nil {
		return err
	}
	if err := r.reconcilePrimaryAutoscaler(ctx, s.canary); err != nil {
		return err
	}
	want := s.primary.DeepCopy()
	s.primarySpec(configs).ApplyTemplate(want)
	if equality.Semantic.DeepEqual(want.Spec.Template, s.primary.Spec.Template) {
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

// announce turns each decision into a log line, an event and an event
// webhook call with the same words.
func (r *CanaryReconciler) announce(ctx context.Context, c *flaggerv1.Canary, events []analysis.Event) {
	log := ctrl.LoggerFrom(ctx)
	for _, e := range events {
		typ := corev1.EventTypeNormal
		if e.Warning {
			typ = corev1.EventTypeWarning
		}
		log.Info(e.Message, "canary", c.String(), "phase", c.Status.Phase, "weight", c.Status.CanaryWeight, "failedChecks", c.Status.FailedChecks)
		r.Recorder.Eventf(c, typ, e.Reason(), "%s", e.Message)
		r.Webhooks.Event(ctx, c, typ, e.Message)
	}
}

// checksum identifies the analysed revision in webhook payloads.
func checksum(s flaggerv1.CanaryStatus) string {
	h := sha256.New()
	h.Write([]byte(s.LastAppliedSpec))
	if s.TrackedConfigs != nil {
		keys := make([]string, 0, len(*s.TrackedConfigs))
		for k := range *s.TrackedConfigs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(h, "|%s=%s", k, (*s.TrackedConfigs)[k])
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// liveChecks runs webhooks and metrics for the analysis step.
type liveChecks struct {
	ctx      context.Context
	r        *CanaryReconciler
	canary   *flaggerv1.Canary
	provider string
}

func (l *liveChecks) Hooks(t flaggerv1.HookType) []analysis.HookResult {
	return l.r.Webhooks.Run(l.ctx, l.canary, t, checksum(l.canary.Status))
}

func (l *liveChecks) Metrics() []analysis.MetricResult {
	res := l.r.Metrics.Check(l.ctx, l.canary, l.provider)
	l.r.Telemetry.MetricResults(l.canary, res)
	return res
}
