package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/internal/router/appmesh"
	meshv1beta2 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
	"github.com/serin-dev/serin/internal/router/gatewayapi"
	"github.com/serin-dev/serin/internal/router/istio"
	"github.com/serin-dev/serin/internal/router/linkerd"
	"github.com/serin-dev/serin/test/framework"
)

// applySeedCanary creates podinfo and the seed's v1alpha3 Canary with the
// given provider, plus mutations of the canary object.
func applySeedCanary(t *testing.T, ns, provider string, mutate ...func(map[string]any)) {
	t.Helper()
	e := framework.Get()
	e.Apply(t, ns, "podinfo.yaml")
	obj := framework.ReadObjects(t, "canary-v1alpha3.yaml")[0]
	obj.SetNamespace(ns)
	_ = unstructured.SetNestedField(obj.Object, provider, "spec", "provider")
	for _, m := range mutate {
		m(obj.Object)
	}
	if err := e.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("create canary: %v", err)
	}
}

func getCanary(t *testing.T, ns string) *flaggerv1.Canary {
	t.Helper()
	c := &flaggerv1.Canary{}
	framework.MustGet(t, ns, "podinfo", c)
	return c
}

// The App Mesh v1beta2 objects of the seed canary match the reference.
func TestAppMeshV1beta2ObjectsMatchTheReference(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns := e.Namespace(t)
	e.StartOperator(t, "--namespace="+ns)
	applySeedCanary(t, ns, "appmesh:v1beta2")
	canary := waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)

	for node, selects := range map[string]string{"podinfo-primary": "podinfo-primary", "podinfo-canary": "podinfo"} {
		vn := &meshv1beta2.VirtualNode{}
		framework.MustGet(t, ns, node, vn)
		framework.AssertGenerated(t, vn, canary)
		if got := vn.Spec.PodSelector.MatchLabels["app"]; got != selects {
			t.Errorf("virtual node %s selects app=%s, want %s", node, got, selects)
		}
		l := vn.Spec.Listeners
		if len(l) != 1 || l[0].PortMapping.Port != 9898 || l[0].PortMapping.Protocol != "http" {
			t.Errorf("virtual node %s listeners %+v, want http 9898", node, l)
		}
		if host := vn.Spec.ServiceDiscovery.DNS.Hostname; host != fmt.Sprintf("%s.%s.svc.cluster.local", node, ns) {
			t.Errorf("virtual node %s DNS hostname %s", node, host)
		}
	}
	for name, want := range map[string]string{"podinfo": "podinfo-primary=100 podinfo-canary=0", "podinfo-canary": "podinfo-canary=100"} {
		vr := &meshv1beta2.VirtualRouter{}
		framework.MustGet(t, ns, name, vr)
		framework.AssertGenerated(t, vr, canary)
		if got := routeTargets(vr); got != want {
			t.Errorf("virtual router %s routes %q, want %q", name, got, want)
		}
		vs := &meshv1beta2.VirtualService{}
		framework.MustGet(t, ns, name, vs)
		framework.AssertGenerated(t, vs, canary)
		if vs.Spec.AWSName == nil || *vs.Spec.AWSName != name+"."+ns || vs.Spec.Provider.VirtualRouter.VirtualRouterRef.Name != name {
			t.Errorf("virtual service %s: awsName %v, router %+v", name, vs.Spec.AWSName, vs.Spec.Provider.VirtualRouter)
		}
	}
}

// routeTargets prints a virtual router's weighted targets.
func routeTargets(vr *meshv1beta2.VirtualRouter) string {
	var out []string
	for _, r := range vr.Spec.Routes {
		for _, wt := range r.HTTPRoute.Action.WeightedTargets {
			out = append(out, fmt.Sprintf("%s=%d", wt.VirtualNodeRef.Name, wt.Weight))
		}
	}
	return strings.Join(out, " ")
}

// The gatewayapi:v1 HTTPRoute of the seed canary matches the reference.
func TestGatewayAPIRouteMatchesTheReference(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns := e.Namespace(t)
	e.StartOperator(t, "--namespace="+ns)
	applySeedCanary(t, ns, "gatewayapi:v1", set([]any{map[string]any{"name": "public", "namespace": "gateways"}}, "spec", "service", "gatewayRefs"))
	canary := waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)
	route := &gatewayv1.HTTPRoute{}
	framework.MustGet(t, ns, "podinfo", route)
	framework.AssertGenerated(t, route, canary)
	if p := route.Spec.ParentRefs; len(p) != 1 || p[0].Name != "public" || p[0].Namespace == nil || *p[0].Namespace != "gateways" {
		t.Errorf("parentRefs %+v", p)
	}
	refs := route.Spec.Rules[0].BackendRefs
	got := []string{}
	for _, r := range refs {
		got = append(got, fmt.Sprintf("%s:%d=%d", r.Name, *r.Port, *r.Weight))
	}
	if strings.Join(got, " ") != "podinfo-primary:9898=100 podinfo-canary:9898=0" {
		t.Errorf("backendRefs %v", got)
	}
}

// Each router writes weights that are visible on its object and read back,
// and a second reconcile in a row writes nothing.
func TestRoutersSetWeightsAndReconcileWithoutWrites(t *testing.T) {
	e := framework.Get()
	for provider, newRouter := range map[string]func() router.Router{
		"appmesh:v1beta2": func() router.Router { return appmesh.NewV1beta2(e.Client, e.Scheme) },
		"gatewayapi:v1":   func() router.Router { return gatewayapi.New(e.Client, e.Scheme) },
		"istio":           func() router.Router { return istio.New(e.Client, e.Scheme) },
		"linkerd":         func() router.Router { return linkerd.New(e.Client, e.Scheme) },
	} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			ns := e.Namespace(t)
			applySeedCanary(t, ns, provider)
			canary := getCanary(t, ns)
			ctx := context.Background()
			r := newRouter()
			if err := r.Reconcile(ctx, canary, router.Weights{Primary: 100}); err != nil {
				t.Fatal(err)
			}
			if err := r.SetRoutes(ctx, canary, router.Weights{Primary: 95, Canary: 5}); err != nil {
				t.Fatal(err)
			}
			if w, err := r.GetRoutes(ctx, canary); err != nil || w.Primary != 95 || w.Canary != 5 {
				t.Fatalf("GetRoutes = %+v, %v; want 95/5", w, err)
			}
			before := routingVersions(t, ns)
			for range 2 {
				if err := r.Reconcile(ctx, canary, router.Weights{Primary: 100}); err != nil {
					t.Fatal(err)
				}
			}
			if after := routingVersions(t, ns); after != before {
				t.Errorf("reconcile wrote: resourceVersions %s -> %s", before, after)
			}
			if w, _ := r.GetRoutes(ctx, canary); w.Canary != 5 {
				t.Errorf("reconcile changed the weights to %+v", w)
			}
		})
	}
}

// routingVersions lists the routing objects of a namespace with their
// resourceVersions.
func routingVersions(t *testing.T, ns string) string {
	t.Helper()
	var out []string
	for _, list := range []client.ObjectList{&meshv1beta2.VirtualNodeList{}, &meshv1beta2.VirtualRouterList{}, &meshv1beta2.VirtualServiceList{}, &gatewayv1.HTTPRouteList{},
		&istiov1beta1.VirtualServiceList{}, &istiov1beta1.DestinationRuleList{}} {
		if err := framework.Get().Client.List(context.Background(), list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		items, _ := metaItems(list)
		out = append(out, items...)
	}
	return strings.Join(out, ",")
}

func metaItems(list client.ObjectList) ([]string, error) {
	var out []string
	switch l := list.(type) {
	case *meshv1beta2.VirtualNodeList:
		for _, i := range l.Items {
			out = append(out, "vn/"+i.Name+"@"+i.ResourceVersion)
		}
	case *meshv1beta2.VirtualRouterList:
		for _, i := range l.Items {
			out = append(out, "vr/"+i.Name+"@"+i.ResourceVersion)
		}
	case *meshv1beta2.VirtualServiceList:
		for _, i := range l.Items {
			out = append(out, "vs/"+i.Name+"@"+i.ResourceVersion)
		}
	case *gatewayv1.HTTPRouteList:
		for _, i := range l.Items {
			out = append(out, "httproute/"+i.Name+"@"+i.ResourceVersion)
		}
	case *istiov1beta1.VirtualServiceList:
		for _, i := range l.Items {
			out = append(out, "virtualservice/"+i.Name+"@"+i.ResourceVersion)
		}
	case *istiov1beta1.DestinationRuleList:
		for _, i := range l.Items {
			out = append(out, "destinationrule/"+i.Name+"@"+i.ResourceVersion)
		}
	}
	return out, nil
}

// An A/B canary gets the two-route App Mesh shape and header-matched
// HTTPRoute rules.
func TestABTestingRoutes(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ab := func(o map[string]any) {
		a := o["spec"].(map[string]any)["canaryAnalysis"].(map[string]any)
		delete(a, "stepWeight")
		a["iterations"] = int64(10)
		a["match"] = []any{map[string]any{"headers": map[string]any{"x-canary": map[string]any{"exact": "insider"}}}}
	}
	ns := e.Namespace(t)
	applySeedCanary(t, ns, "appmesh:v1beta2", ab)
	canary := getCanary(t, ns)
	ctx := context.Background()
	if err := appmesh.NewV1beta2(e.Client, e.Scheme).Reconcile(ctx, canary, router.Weights{Primary: 100}); err != nil {
		t.Fatal(err)
	}
	vr := &meshv1beta2.VirtualRouter{}
	framework.MustGet(t, ns, "podinfo", vr)
	if len(vr.Spec.Routes) != 2 || *vr.Spec.Routes[0].Priority != 10 || *vr.Spec.Routes[1].Priority != 20 {
		t.Fatalf("routes %+v, want a header route at priority 10 and a default at 20", vr.Spec.Routes)
	}
	if h := vr.Spec.Routes[0].HTTPRoute.Match.Headers; len(h) != 1 || h[0].Name != "x-canary" {
		t.Errorf("header match %+v", h)
	}
	if err := gatewayapi.New(e.Client, e.Scheme).Reconcile(ctx, canary, router.Weights{Primary: 100}); err != nil {
		t.Fatal(err)
	}
	route := &gatewayv1.HTTPRoute{}
	framework.MustGet(t, ns, "podinfo", route)
	rules := route.Spec.Rules
	if len(rules) != 2 || len(rules[0].Matches) == 0 || len(rules[0].Matches[0].Headers) != 1 || rules[0].Matches[0].Headers[0].Name != "x-canary" {
		t.Errorf("HTTPRoute rules %+v, want a header-matched rule then a default", rules)
	}
}

// Deleting a canary never leaves a service without pods: before the
// primary goes, the target is back at the primary's replicas and
// available, whichever operator gave the canary its finalizer. With
// revertOnDeletion the apex service is handed back to the target and kept;
// without it, owner references remove everything the canary generated.
// The operator's per-canary series go with the canary.
func TestDeletingACanary(t *testing.T) {
	cases := map[string]struct {
		revert bool
		// finalizers are set on the Canary at creation (Flagger's).
		finalizers []any
	}{
		"with revertOnDeletion":              {revert: true},
		"without revertOnDeletion":           {},
		"with the finalizer Flagger gave it": {finalizers: []any{"finalizer.flagger.app"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := framework.Get()
			ns := e.Namespace(t)
			op := e.StartOperator(t, "--namespace="+ns)
			mutations := []func(map[string]any){set(tc.revert, "spec", "revertOnDeletion")}
			if tc.finalizers != nil {
				mutations = append(mutations, set(tc.finalizers, "metadata", "finalizers"))
			}
			applySeedCanary(t, ns, "appmesh:v1beta2", mutations...)
			waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)
			labels := map[string]string{"name": "podinfo", "namespace": ns}
			framework.Eventually(t, 30*time.Second, "a step duration series", func(ctx context.Context) (bool, string) {
				n, err := op.Series(ctx, "flagger_canary_duration_seconds", labels)
				return err == nil && n > 0, fmt.Sprintf("%d series, %v", n, err)
			})
			available := targetAvailableWhenPrimaryGoes(t, ns)
			if err := e.Client.Delete(context.Background(), getCanary(t, ns)); err != nil {
				t.Fatal(err)
			}
			framework.Eventually(t, 60*time.Second, "the canary's objects to go", func(ctx context.Context) (bool, string) {
				left := routingVersions(t, ns)
				var services corev1.ServiceList
				_ = e.Client.List(ctx, &services, client.InNamespace(ns))
				err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, &flaggerv1.Canary{})
				return left == "" && len(services.Items) == map[bool]int{true: 1, false: 0}[tc.revert] && apierrors.IsNotFound(err),
					fmt.Sprintf("routing objects %q, %d services, canary: %v", left, len(services.Items), err)
			})
			select {
			case got := <-available:
				if got != 2 {
					t.Errorf("the target had %d available replicas when the primary was deleted, want 2", got)
				}
			case <-time.After(10 * time.Second):
				t.Error("the primary's deletion was never seen")
			}
			if n, err := op.Series(context.Background(), "flagger_canary_duration_seconds", labels); err != nil || n != 0 {
				t.Errorf("%d step duration series of the deleted canary (%v), want none", n, err)
			}
			if !tc.revert {
				return
			}
			svc := &corev1.Service{}
			framework.MustGet(t, ns, "podinfo", svc)
			if svc.Spec.Selector["app"] != "podinfo" || len(svc.OwnerReferences) != 0 {
				t.Errorf("apex service selects %v with owners %v; want app=podinfo and no owner", svc.Spec.Selector, svc.OwnerReferences)
			}
			waitForEndpoints(t, ns, "podinfo", 2, false)
		})
	}
}

// targetAvailableWhenPrimaryGoes sends the target's available replicas
// read when the primary is first seen being deleted.
func targetAvailableWhenPrimaryGoes(t *testing.T, ns string) <-chan int32 {
	out := make(chan int32, 1)
	var once sync.Once
	framework.Get().Watch(t, &appsv1.DeploymentList{}, func(ctx context.Context, ev watch.Event) {
		d, ok := ev.Object.(*appsv1.Deployment)
		if !ok || d.Name != "podinfo-primary" || (ev.Type != watch.Deleted && d.DeletionTimestamp == nil) {
			return
		}
		once.Do(func() {
			target := &appsv1.Deployment{}
			if err := framework.Get().Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, target); err != nil {
				out <- -1
				return
			}
			out <- target.Status.AvailableReplicas
		})
	}, client.InNamespace(ns))
	return out
}

// Weights edited by hand on the routing object are put back at once: the
// operator watches the routing objects it owns.
func TestHandEditedWeightsAreRestored(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns := e.Namespace(t)
	e.StartOperator(t, "--namespace="+ns)
	applySeedCanary(t, ns, "gatewayapi:v1")
	waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)
	route := &gatewayv1.HTTPRoute{}
	framework.MustGet(t, ns, "podinfo", route)
	patch := client.MergeFrom(route.DeepCopy())
	refs := route.Spec.Rules[0].BackendRefs
	*refs[0].Weight, *refs[1].Weight = 50, 50
	if err := e.Client.Patch(context.Background(), route, patch); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 10*time.Second, "the weights to return to 100/0", func(ctx context.Context) (bool, string) {
		r := &gatewayv1.HTTPRoute{}
		if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, r); err != nil {
			return false, err.Error()
		}
		b := r.Spec.Rules[0].BackendRefs
		return *b[0].Weight == 100 && *b[1].Weight == 0, fmt.Sprintf("%d/%d", *b[0].Weight, *b[1].Weight)
	})
}

// A VirtualNode and a VirtualService edited by hand are put back, like the
// weights: the operator patches what it owns back to what the canary says.
func TestHandEditedAppMeshObjectsAreRestored(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns := e.Namespace(t)
	e.StartOperator(t, "--namespace="+ns)
	applySeedCanary(t, ns, "appmesh:v1beta2")
	waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)
	ctx := context.Background()
	vn := &meshv1beta2.VirtualNode{}
	framework.MustGet(t, ns, "podinfo-canary", vn)
	patch := client.MergeFrom(vn.DeepCopy())
	vn.Spec.PodSelector.MatchLabels["app"] = "intruder"
	if err := e.Client.Patch(ctx, vn, patch); err != nil {
		t.Fatal(err)
	}
	vs := &meshv1beta2.VirtualService{}
	framework.MustGet(t, ns, "podinfo", vs)
	patch = client.MergeFrom(vs.DeepCopy())
	vs.Spec.Provider.VirtualRouter.VirtualRouterRef.Name = "podinfo-canary"
	if err := e.Client.Patch(ctx, vs, patch); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 10*time.Second, "the virtual node and service to be restored", func(ctx context.Context) (bool, string) {
		vn, vs := &meshv1beta2.VirtualNode{}, &meshv1beta2.VirtualService{}
		if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo-canary"}, vn); err != nil {
			return false, err.Error()
		}
		if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo"}, vs); err != nil {
			return false, err.Error()
		}
		selects, routes := vn.Spec.PodSelector.MatchLabels["app"], vs.Spec.Provider.VirtualRouter.VirtualRouterRef.Name
		return selects == "podinfo" && routes == "podinfo", fmt.Sprintf("node selects app=%s, service routes to %s", selects, routes)
	})
}

// An Istio DestinationRule edited by hand is put back too.
func TestHandEditedDestinationRuleIsRestored(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns := e.Namespace(t)
	e.StartOperator(t, "--namespace="+ns)
	applySeedCanary(t, ns, "istio")
	waitForPhase(t, ns, "podinfo", flaggerv1.CanaryPhaseInitialized, 30*time.Second)
	dr := &istiov1beta1.DestinationRule{}
	framework.MustGet(t, ns, "podinfo-canary", dr)
	host := dr.Spec.Host
	patch := client.MergeFrom(dr.DeepCopy())
	dr.Spec.Host = "intruder." + ns
	if err := e.Client.Patch(context.Background(), dr, patch); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 10*time.Second, "the destination rule to be restored", func(ctx context.Context) (bool, string) {
		dr := &istiov1beta1.DestinationRule{}
		if err := e.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "podinfo-canary"}, dr); err != nil {
			return false, err.Error()
		}
		return dr.Spec.Host == host, "host " + dr.Spec.Host
	})
}
