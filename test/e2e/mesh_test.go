package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/internal/router/istio"
	"github.com/serin-dev/serin/test/framework"
)

// The istio provider's objects for the seed canary match the reference:
// a VirtualService podinfo for the apex host on the mesh gateway with
// weights 100/0, and DestinationRules for the primary and canary hosts,
// all owned by the Canary.
func TestIstioObjectsMatchTheReference(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns := e.Namespace(t)
	e.StartOperator(t, "--namespace="+ns)
	applySeedCanary(t, ns, "istio")
	canary := waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)
	vs := &istiov1beta1.VirtualService{}
	framework.MustGet(t, ns, "podinfo", vs)
	framework.AssertGenerated(t, vs, canary)
	if got := fmt.Sprint(vs.Spec.Hosts, vs.Spec.Gateways); got != "[podinfo] [mesh]" {
		t.Errorf("hosts and gateways %s, want [podinfo] [mesh]", got)
	}
	if got := destinations(vs); got != "podinfo-primary=100 podinfo-canary=0" {
		t.Errorf("routes %q, want podinfo-primary=100 podinfo-canary=0", got)
	}
	for _, name := range []string{"podinfo-primary", "podinfo-canary"} {
		dr := &istiov1beta1.DestinationRule{}
		framework.MustGet(t, ns, name, dr)
		framework.AssertGenerated(t, dr, canary)
		if dr.Spec.Host != name {
			t.Errorf("DestinationRule %s is for host %q", name, dr.Spec.Host)
		}
	}
}

// destinations prints the VirtualService's routes.
func destinations(vs *istiov1beta1.VirtualService) string {
	var out []string
	for _, h := range vs.Spec.Http {
		for _, d := range h.Route {
			out = append(out, fmt.Sprintf("%s=%d", d.Destination.Host, d.Weight))
		}
	}
	return strings.Join(out, " ")
}

// The linkerd provider's HTTPRoute is attached to the apex Service on the
// service port and splits 100/0 between the primary and canary services.
func TestLinkerdRouteMatchesTheReference(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns := e.Namespace(t)
	e.StartOperator(t, "--namespace="+ns)
	applySeedCanary(t, ns, "linkerd")
	canary := waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)
	route := &gatewayv1.HTTPRoute{}
	framework.MustGet(t, ns, "podinfo", route)
	framework.AssertGenerated(t, route, canary)
	p := route.Spec.ParentRefs
	if len(p) != 1 || *p[0].Group != "core" || *p[0].Kind != "Service" || p[0].Name != "podinfo" || *p[0].Port != 9898 || len(route.Spec.Hostnames) > 0 {
		t.Errorf("parentRefs %+v hostnames %v, want the Service podinfo on port 9898 and no hostnames", p, route.Spec.Hostnames)
	}
	var got []string
	for _, r := range route.Spec.Rules[0].BackendRefs {
		got = append(got, fmt.Sprintf("%s:%d=%d", r.Name, *r.Port, *r.Weight))
	}
	if strings.Join(got, " ") != "podinfo-primary:9898=100 podinfo-canary:9898=0" {
		t.Errorf("backendRefs %v", got)
	}
}

// The Istio shapes of an A/B test and of mirroring, as Flagger generates
// them, are accepted by Istio's CRD schema and stored as written.
func TestIstioABAndMirroringShapes(t *testing.T) {
	e := framework.Get()
	cases := map[string]struct {
		// mutate makes the seed canary A/B or mirrored.
		mutate func(map[string]any)
		// weights are written after reconciling.
		weights router.Weights
		// want is the stored http routes, as JSON (fields in Istio's order).
		want string
	}{
		"A/B": {
			mutate: func(o map[string]any) {
				del("spec", "canaryAnalysis", "stepWeight")(o)
				set(int64(10), "spec", "canaryAnalysis", "iterations")(o)
				set([]any{map[string]any{"headers": map[string]any{"x-canary": map[string]any{"exact": "insider"}}}}, "spec", "canaryAnalysis", "match")(o)
			},
			weights: router.Weights{Canary: 100},
			want: `[{"match":[{"headers":{"x-canary":{"exact":"insider"}}}],"route":[{"destination":{"host":"podinfo-primary"}},{"destination":{"host":"podinfo-canary"},"weight":100}]},` +
				`{"route":[{"destination":{"host":"podinfo-primary"},"weight":100}]}]`,
		},
		"mirroring": {
			mutate: func(o map[string]any) {
				set(true, "spec", "canaryAnalysis", "mirror")(o)
				set(int64(25), "spec", "canaryAnalysis", "mirrorWeight")(o)
			},
			weights: router.Weights{Primary: 100, Mirrored: true},
			want: `[{"route":[{"destination":{"host":"podinfo-primary"},"weight":100},{"destination":{"host":"podinfo-canary"}}],` +
				`"mirror":{"host":"podinfo-canary"},"mirrorPercentage":{"value":25}}]`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ns := e.Namespace(t)
			applySeedCanary(t, ns, "istio", tc.mutate)
			canary := getCanary(t, ns)
			r := istio.New(e.Client, e.Scheme)
			ctx := context.Background()
			if err := r.Reconcile(ctx, canary, router.Weights{Primary: 100}); err != nil {
				t.Fatal(err)
			}
			if err := r.SetRoutes(ctx, canary, tc.weights); err != nil {
				t.Fatal(err)
			}
			vs := &istiov1beta1.VirtualService{}
			framework.MustGet(t, ns, "podinfo", vs)
			got, err := json.Marshal(vs.Spec.Http)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("http routes\n%s\nwant\n%s", got, tc.want)
			}
			if w, err := r.GetRoutes(ctx, canary); err != nil || w != tc.weights {
				t.Errorf("GetRoutes = %+v, %v; want %+v", w, err, tc.weights)
			}
		})
	}
}
