package emulator

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	networking "istio.io/api/networking/v1alpha3"
	istiov1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	appmeshv1beta1 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta1"
	appmeshv1beta2 "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
	"github.com/serin-dev/serin/test/podinfo"
)

// testPlane is a data plane over a fake cluster and a real podinfo.
type testPlane struct {
	*dataPlane
	reg *prometheus.Registry
	// backend is the podinfo backend's URL.
	backend string
}

func newTestPlane(t *testing.T, objs ...client.Object) testPlane {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, gatewayv1.Install, appmeshv1beta2.AddToScheme, appmeshv1beta1.AddToScheme, istiov1beta1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	cl := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	backend := httptest.NewServer((&podinfo.Server{Version: "dev"}).Handler())
	t.Cleanup(backend.Close)
	u, _ := url.Parse(backend.URL)
	kinds := newRoutingKinds()
	for _, k := range kinds {
		k.watched.Store(true)
	}
	reg := prometheus.NewRegistry()
	return testPlane{reg: reg, backend: backend.URL, dataPlane: &dataPlane{
		resolver: &resolver{reader: cl, kinds: kinds}, endpoints: newEndpoints(cl), splitter: newSplitter(),
		metrics: newMeshMetrics(reg), ledger: newLedger(), proxy: newProxy(u), log: slog.Default(),
	}}
}

// get sends a request for host and path through the plane.
func (p testPlane) get(host, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Host = host
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, r)
	return rec
}

// seedObjects are the Services and pods of the Canary podinfo in test:
// two primary pods on 3.1.0, one canary pod on 3.1.1 and one terminating.
func seedObjects() []client.Object {
	return []client.Object{
		service("podinfo-primary", "podinfo-primary"), service("podinfo-canary", "podinfo"), service("podinfo", "podinfo-primary"),
		pod("podinfo-primary-6c7d9-aaaaa", "podinfo-primary", "6c7d9", "3.1.0"),
		pod("podinfo-primary-6c7d9-bbbbb", "podinfo-primary", "6c7d9", "3.1.0"),
		pod("podinfo-7f8b5-ccccc", "podinfo", "7f8b5", "3.1.1"),
		pod("podinfo-7f8b5-ddddd", "podinfo", "7f8b5", "3.1.1", terminating),
	}
}

func service(name, app string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "test"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": app}},
	}
}

func terminating(p *corev1.Pod) {
	p.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	p.Finalizers = []string{"test/keep"}
}

func pod(name, deployment, hash, tag string, opts ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "test", GenerateName: deployment + "-" + hash + "-",
			Labels: map[string]string{"app": deployment, appsv1.DefaultDeploymentUniqueLabelKey: hash},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "podinfo", Image: "stefanprodan/podinfo:" + tag}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue},
		}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// v1beta2Objects are the App Mesh v1beta2 routing of the seed at weight w.
func v1beta2Objects(w int64) []client.Object {
	node := func(name string, weight int64) appmeshv1beta2.WeightedTarget {
		return appmeshv1beta2.WeightedTarget{VirtualNodeRef: &appmeshv1beta2.VirtualNodeReference{Name: name}, Weight: weight}
	}
	router := func(name string, targets ...appmeshv1beta2.WeightedTarget) *appmeshv1beta2.VirtualRouter {
		return &appmeshv1beta2.VirtualRouter{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "test"},
			Spec: appmeshv1beta2.VirtualRouterSpec{Routes: []appmeshv1beta2.Route{{Name: name + "-route", HTTPRoute: &appmeshv1beta2.HTTPRoute{
				Match: appmeshv1beta2.HTTPRouteMatch{Prefix: ptr.To("/")}, Action: appmeshv1beta2.HTTPRouteAction{WeightedTargets: targets},
			}}}},
		}
	}
	vs := func(name string) *appmeshv1beta2.VirtualService {
		return &appmeshv1beta2.VirtualService{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "test"},
			Spec: appmeshv1beta2.VirtualServiceSpec{AWSName: ptr.To(name + ".test"), Provider: appmeshv1beta2.VirtualServiceProvider{
				VirtualRouter: &appmeshv1beta2.VirtualRouterServiceProvider{VirtualRouterRef: &appmeshv1beta2.VirtualRouterReference{Name: name}},
			}},
		}
	}
	return []client.Object{
		router("podinfo", node("podinfo-primary", 100-w), node("podinfo-canary", w)), vs("podinfo"),
		router("podinfo-canary", node("podinfo-canary", 100)), vs("podinfo-canary"),
	}
}

func v1beta1Objects(w int64) []client.Object {
	return []client.Object{&appmeshv1beta1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo.test", Namespace: "test"},
		Spec: appmeshv1beta1.VirtualServiceSpec{MeshName: "global", Routes: []appmeshv1beta1.Route{{Name: "podinfo-route", HTTP: &appmeshv1beta1.HTTPRoute{
			Match: appmeshv1beta1.HTTPRouteMatch{Prefix: "/"},
			Action: appmeshv1beta1.HTTPRouteAction{WeightedTargets: []appmeshv1beta1.WeightedTarget{
				{VirtualNodeName: "podinfo-primary", Weight: 100 - w}, {VirtualNodeName: "podinfo-canary", Weight: w},
			}},
		}}}},
	}}
}

func httpRouteObjects(w int32) []client.Object {
	ref := func(name string, weight int32) gatewayv1.HTTPBackendRef {
		return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To(int32(9898))},
			Weight:                 ptr.To(weight),
		}}
	}
	return []client.Object{&gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test"},
		Spec: gatewayv1.HTTPRouteSpec{Rules: []gatewayv1.HTTPRouteRule{
			{BackendRefs: []gatewayv1.HTTPBackendRef{ref("podinfo-primary", 100-w), ref("podinfo-canary", w)}},
		}},
	}}
}

// istioObjects are the istio provider's VirtualService of the seed at
// weight w; mutate changes its only route.
func istioObjects(w int32, mutate ...func(h *networking.HTTPRoute)) []client.Object {
	h := &networking.HTTPRoute{Route: []*networking.HTTPRouteDestination{
		{Destination: &networking.Destination{Host: "podinfo-primary"}, Weight: 100 - w},
		{Destination: &networking.Destination{Host: "podinfo-canary.test.svc.cluster.local"}, Weight: w},
	}}
	for _, m := range mutate {
		m(h)
	}
	vs := &istiov1beta1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test"}}
	vs.Spec.Hosts, vs.Spec.Gateways, vs.Spec.Http = []string{"podinfo"}, []string{"mesh"}, []*networking.HTTPRoute{h}
	return []client.Object{vs}
}

// linkerdObjects are the linkerd provider's HTTPRoute: attached to the
// apex Service, not named after a host.
func linkerdObjects(w int32) []client.Object {
	hr := httpRouteObjects(w)[0].(*gatewayv1.HTTPRoute)
	hr.Name = "podinfo-split"
	hr.Spec.ParentRefs = []gatewayv1.ParentReference{{Group: ptr.To(gatewayv1.Group("core")), Kind: ptr.To(gatewayv1.Kind("Service")), Name: "podinfo", Port: ptr.To(int32(9898))}}
	return []client.Object{hr}
}

func TestDataPlaneSplitsByTheRoutingObject(t *testing.T) {
	tests := map[string]struct {
		// routing are the provider's objects, at canary weight 10; they
		// win over the apex Service, which selects only primary pods.
		routing []client.Object
	}{
		"App Mesh v1beta2 VirtualRouter":   {routing: v1beta2Objects(10)},
		"App Mesh v1beta1 VirtualService":  {routing: v1beta1Objects(10)},
		"Gateway API HTTPRoute":            {routing: httpRouteObjects(10)},
		"Istio VirtualService":             {routing: istioObjects(10)},
		"Linkerd (HTTPRoute of a Service)": {routing: linkerdObjects(10)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := newTestPlane(t, append(seedObjects(), tc.routing...)...)
			versions := map[string]int{}
			for range 200 {
				rec := p.get("podinfo.test:9898", "/version")
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				var v struct{ Version, Hostname string }
				_ = json.Unmarshal(rec.Body.Bytes(), &v)
				versions[v.Version]++
				if v.Hostname == "podinfo-7f8b5-ddddd" {
					t.Fatal("a terminating pod got a request")
				}
			}
			if versions["3.1.1"] != 20 || versions["3.1.0"] != 180 {
				t.Errorf("versions answered %v, want 20 of 3.1.1 (canary) and 180 of 3.1.0", versions)
			}
			split := p.ledger.report().Split("podinfo.test")
			if split != (Split{Canary: 20, Primary: 180}) {
				t.Errorf("recorded split %+v, want 20/180", split)
			}
		})
	}
}

func TestDataPlaneAnswersLikeEnvoy(t *testing.T) {
	tests := map[string]struct {
		// objs are the cluster's; host and path the request's.
		objs       []client.Object
		host, path string
		wantCode   int
	}{
		"an unknown host is not found":                      {objs: seedObjects(), host: "nothing.test", path: "/", wantCode: 404},
		"a Service without routing object is reached":       {objs: seedObjects(), host: "podinfo-canary.test:9898", path: "/", wantCode: 200},
		"the canary's virtual service passes the status on": {objs: append(seedObjects(), v1beta2Objects(0)...), host: "podinfo-canary.test", path: "/status/500", wantCode: 500},
		"a Service without ready pods has no upstream":      {objs: []client.Object{service("podinfo-canary", "podinfo")}, host: "podinfo-canary.test", path: "/", wantCode: 503},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := newTestPlane(t, tc.objs...)
			if rec := p.get(tc.host, tc.path); rec.Code != tc.wantCode {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.wantCode, rec.Body)
			}
		})
	}
}

func TestDataPlaneExportsEnvoyMetricsPerPod(t *testing.T) {
	p := newTestPlane(t, append(seedObjects(), v1beta2Objects(0)...)...)
	for range 4 {
		p.get("podinfo-canary.test", "/status/500")
	}
	p.get("podinfo.test", "/")
	got := gatherRequests(t, p.reg)
	want := map[string]float64{"podinfo-primary-6c7d9-aaaaa/200": 1, "podinfo-7f8b5-ccccc/500": 4}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("envoy_cluster_upstream_rq by pod/code %v, want %v", got, want)
	}
	r := p.ledger.report()
	if got := r.Deployment("test", "podinfo"); got != 4 {
		t.Errorf("%d requests recorded for Deployment podinfo, want 4", got)
	}
}

// gatherRequests reads envoy_cluster_upstream_rq by pod and code, and
// checks that every pod with requests has a request-time histogram.
func gatherRequests(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	histograms := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			switch mf.GetName() {
			case "envoy_cluster_upstream_rq":
				out[l["kubernetes_pod_name"]+"/"+l["envoy_response_code"]] = m.GetCounter().GetValue()
			case "envoy_cluster_upstream_rq_time":
				histograms[l["kubernetes_pod_name"]] = m.GetHistogram().GetSampleCount() > 0
			}
		}
	}
	for key := range out {
		if pod, _, _ := strings.Cut(key, "/"); !histograms[pod] {
			t.Errorf("no request-time histogram for pod %s", pod)
		}
	}
	return out
}

// An Istio route's matches pick the requests it takes; the A/B route sends
// them to the canary and the rest falls through to the primary.
func TestDataPlaneFollowsIstioMatches(t *testing.T) {
	ab := istioObjects(0, func(h *networking.HTTPRoute) {
		h.Match = []*networking.HTTPMatchRequest{
			{Headers: map[string]*networking.StringMatch{"x-canary": {MatchType: &networking.StringMatch_Exact{Exact: "insider"}}}},
			{QueryParams: map[string]*networking.StringMatch{"canary": {MatchType: &networking.StringMatch_Regex{Regex: "t.*"}}}},
		}
		h.Route[0].Weight, h.Route[1].Weight = 0, 100
	})[0].(*istiov1beta1.VirtualService)
	ab.Spec.Http = append(ab.Spec.Http, &networking.HTTPRoute{Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "podinfo-primary"}}}})
	p := newTestPlane(t, append(seedObjects(), ab)...)
	for path, header := range map[string]string{"/?canary=true": "", "/": "insider", "/?canary=no": "outsider"} {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Host = "podinfo.test"
		if header != "" {
			r.Header.Set("x-canary", header)
		}
		p.ServeHTTP(httptest.NewRecorder(), r)
	}
	if split := p.ledger.report().Split("podinfo.test"); split != (Split{Canary: 2, Primary: 1}) {
		t.Errorf("split %+v, want the two matching requests on the canary and the other on the primary", split)
	}
}

// An Istio mirror copies mirrorPercentage of the requests to the canary;
// the copies are measured but not counted in the split.
func TestDataPlaneMirrorsIstioRequests(t *testing.T) {
	mirrored := istioObjects(0, func(h *networking.HTTPRoute) {
		h.Mirror = &networking.Destination{Host: "podinfo-canary"}
		h.MirrorPercentage = &networking.Percent{Value: 50}
	})
	p := newTestPlane(t, append(seedObjects(), mirrored...)...)
	for range 10 {
		if rec := p.get("podinfo.test", "/status/500"); rec.Code != 500 {
			t.Fatalf("status %d", rec.Code)
		}
	}
	waitFor(t, func() bool { return gatherRequests(t, p.reg)["podinfo-7f8b5-ccccc/500"] == 5 })
	r := p.ledger.report()
	if split, copies := r.Split("podinfo.test"), r.Mirrored("podinfo.test", RoleCanary); split != (Split{Primary: 10}) || copies != 5 {
		t.Errorf("split %+v with %d copies on the canary, want 10 on the primary and 5 copies", split, copies)
	}
}

// The backend measures every request, mirrored copies too, as the pod the
// emulator attributed it to: the series Flagger's HTTP observer reads.
func TestTheBackendMeasuresRequestsAsTheirPodsIncludingMirroredCopies(t *testing.T) {
	mirrored := istioObjects(0, func(h *networking.HTTPRoute) {
		h.Mirror = &networking.Destination{Host: "podinfo-canary"}
		h.MirrorPercentage = &networking.Percent{Value: 50}
	})
	p := newTestPlane(t, append(seedObjects(), mirrored...)...)
	for range 10 {
		p.get("podinfo.test", "/status/500")
	}
	want := map[string]uint64{"test/podinfo-primary/500": 10, "test/podinfo-7f8b5-ccccc/500": 5}
	var got map[string]uint64
	defer func() {
		if t.Failed() {
			t.Logf("backend requests by namespace/pod/status %v, want %v", got, want)
		}
	}()
	waitFor(t, func() bool { got = backendRequests(t, p.backend); return fmt.Sprint(got) == fmt.Sprint(want) })
}

// backendRequests reads the backend's http_request_duration_seconds counts
// by namespace/pod/status, the primary's pods summed as podinfo-primary.
func backendRequests(t *testing.T, backend string) map[string]uint64 {
	t.Helper()
	resp, err := http.Get(backend + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, m := range families["http_request_duration_seconds"].GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		pod := l["kubernetes_pod_name"]
		if strings.HasPrefix(pod, "podinfo-primary-") {
			pod = "podinfo-primary"
		}
		out[l["kubernetes_namespace"]+"/"+pod+"/"+l["status"]] += m.GetHistogram().GetSampleCount()
	}
	return out
}

// waitFor polls cond for up to 5 s: mirrored copies are answered after
// the request that caused them.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDataPlaneExportsIstioAndLinkerdMetricsPerWorkload(t *testing.T) {
	p := newTestPlane(t, append(seedObjects(), istioObjects(0)...)...)
	p.get("podinfo-canary.test", "/status/500")
	p.get("podinfo.test", "/")
	want := map[string]float64{
		`istio_requests_total{destination_workload="podinfo",destination_workload_namespace="test",reporter="destination",response_code="500"}`:                          1,
		`istio_requests_total{destination_workload="podinfo-primary",destination_workload_namespace="test",reporter="destination",response_code="200"}`:                  1,
		`response_total{classification="failure",deployment="podinfo",direction="inbound",namespace="test",pod="podinfo-7f8b5-ccccc",status_code="500"}`:                 1,
		`response_total{classification="success",deployment="podinfo-primary",direction="inbound",namespace="test",pod="podinfo-primary-6c7d9-aaaaa",status_code="200"}`: 1,
	}
	mfs, err := p.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		name := mf.GetName()
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			key := name + "{" + strings.Join(labels, ",") + "}"
			switch name {
			case "istio_requests_total", "response_total":
				got[key] = m.GetCounter().GetValue()
			case "istio_request_duration_milliseconds", "response_latency_ms":
				if m.GetHistogram().GetSampleCount() != 1 {
					t.Errorf("%s has %d samples, want 1", key, m.GetHistogram().GetSampleCount())
				}
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("series\n%v\nwant\n%v", got, want)
	}
}
