package demo

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"text/template"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// Timings are the seed Canary's analysis timings and the load test's rate.
type Timings struct {
	// Interval is canaryAnalysis.interval.
	Interval string
	// MetricInterval is the interval (PromQL range) of both metrics.
	MetricInterval string
	// LoadQPS is hey's -q: requests per second of each of its 2 workers.
	LoadQPS int
}

var (
	// SeedTimings are the seed's: a step every 10 s, metrics over 1 m,
	// hey -q 10 -c 2.
	SeedTimings = Timings{Interval: "10s", MetricInterval: "1m", LoadQPS: 10}
	// FastTimings are for CI: a step every 2 s, metrics over 10 s (ten
	// scrapes), and 50 requests per second, so each step carries about
	// 100 requests and its canary share is measured to within 1-2 points.
	FastTimings = Timings{Interval: "2s", MetricInterval: "10s", LoadQPS: 25}
)

// The seed's image tags.
const (
	Image     = "stefanprodan/podinfo"
	TagFirst  = "3.1.0"
	TagGood   = "3.1.1"
	TagFaulty = "3.0.2"
)

//go:embed manifests/*.yaml
var manifests embed.FS

// Scenario is the seed's application in one namespace, released through
// one mesh provider.
type Scenario struct {
	Stack     *Stack
	Provider  string
	Namespace string
	Timings   Timings
	// Operator runs for Namespace; set by Bootstrap.
	Operator *framework.Operator
	// GitOps is set when the stack runs Flux: the application is then
	// changed by commits (Bootstrap sets it if nil).
	GitOps *GitOps
}

// Host is the virtual host of the apex service, as the load test calls it.
func (sc *Scenario) Host() string { return "podinfo." + sc.Namespace }

// CanaryHost is the virtual host of the canary service.
func (sc *Scenario) CanaryHost() string { return "podinfo-canary." + sc.Namespace }

// Manifest renders one of the seed's manifests for this scenario.
func (sc *Scenario) Manifest(name, tag string) ([]byte, error) {
	t, err := template.ParseFS(manifests, "manifests/"+name)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = t.Execute(&buf, map[string]any{
		"Namespace": sc.Namespace, "Tag": tag, "Interval": sc.Timings.Interval,
		"MetricInterval": sc.Timings.MetricInterval, "LoadQPS": sc.Timings.LoadQPS,
		"LoadTesterURL": sc.Stack.LoadTesterURL, "EmulatorURL": sc.Stack.EmulatorURL,
		"GitOps": sc.Stack.Flux != nil,
	})
	return buf.Bytes(), err
}

// Bootstrap starts the operator and applies the namespace, the podinfo
// Deployment at TagFirst and the Canary; with Flux, it commits them and
// lets Flux apply them.
func (sc *Scenario) Bootstrap(ctx context.Context) error {
	op, err := sc.Stack.StartOperator(sc.Provider, sc.Namespace)
	if err != nil {
		return err
	}
	sc.Operator = op
	if sc.Stack.Flux != nil {
		if sc.GitOps == nil {
			sc.GitOps = &GitOps{}
		}
		return sc.gitBootstrap(ctx)
	}
	for _, m := range []string{"namespace.yaml", "podinfo.yaml", "canary.yaml"} {
		data, err := sc.Manifest(m, TagFirst)
		if err != nil {
			return err
		}
		objs, err := framework.DecodeObjects(data)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		for _, o := range objs {
			if err := sc.Stack.Client.Create(ctx, o); err != nil {
				return fmt.Errorf("create %s %s: %w", o.GetKind(), o.GetName(), err)
			}
		}
	}
	return nil
}

// Canary reads the Canary.
func (sc *Scenario) Canary(ctx context.Context) (*flaggerv1.Canary, error) {
	c := &flaggerv1.Canary{}
	err := sc.Stack.Client.Get(ctx, client.ObjectKey{Namespace: sc.Namespace, Name: "podinfo"}, c)
	return c, err
}

// WaitPhase waits until the Canary reaches phase; it fails early when the
// operator exits.
func (sc *Scenario) WaitPhase(ctx context.Context, phase flaggerv1.CanaryPhase, timeout time.Duration) (*flaggerv1.Canary, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "not found"
	for {
		c, err := sc.Canary(ctx)
		if err == nil {
			p := c.Status.Phase
			if p == phase {
				return c, nil
			}
			last = fmt.Sprintf("phase %q weight %d failedChecks %d", p, c.Status.CanaryWeight, c.Status.FailedChecks)
		}
		if sc.Operator != nil && sc.Operator.Exited() {
			return nil, fmt.Errorf("the operator exited (log: %s)", sc.Operator.LogPath())
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for phase %s: %s", phase, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SetTag changes podinfo's image tag, as the seed's HelmRelease change
// does: a new revision. With Flux it commits the change and syncs.
func (sc *Scenario) SetTag(ctx context.Context, tag string) error {
	if sc.GitOps != nil {
		return sc.gitSetTag(ctx, tag)
	}
	d := &appsv1.Deployment{}
	if err := sc.Stack.Client.Get(ctx, client.ObjectKey{Namespace: sc.Namespace, Name: "podinfo"}, d); err != nil {
		return err
	}
	patch := client.MergeFrom(d.DeepCopy())
	d.Spec.Template.Spec.Containers[0].Image = Image + ":" + tag
	return sc.Stack.Client.Patch(ctx, d, patch)
}

// FaultCommand is one of the seed's fault injections, hey against the
// canary's /delay/1 or /status/500, as the seed runs it from the load
// tester's pod.
func (sc *Scenario) FaultCommand(path string) string {
	return fmt.Sprintf("hey -z 1m -c 5 -q 5 -host %s:9898 %s%s", sc.CanaryHost(), sc.Stack.EmulatorURL, path)
}

// InjectFault asks the load tester to run cmd for the canary.
func (sc *Scenario) InjectFault(ctx context.Context, cmd string) error {
	body, _ := json.Marshal(map[string]any{
		"name": "podinfo", "namespace": sc.Namespace, "phase": "Progressing",
		"metadata": map[string]string{"cmd": cmd},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sc.Stack.LoadTesterURL+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("load tester: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("load tester refused %q: %s", cmd, resp.Status)
	}
	return nil
}
