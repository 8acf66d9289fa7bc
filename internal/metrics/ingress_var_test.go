package metrics

import (
	"context"
	"net/http"
	"testing"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// spec.ingressRef has one use in Serin: its name is the {{ ingress }}
// variable of metric templates (the target without an ingressRef, as in
// Flagger's toMetricModel), as the query that reaches Prometheus shows.
func TestTheIngressVariableIsTheIngressRefsName(t *testing.T) {
	cases := map[string]struct {
		opts []canaryOption // the canary's ingressRef, if any
		want string         // the query Prometheus receives
	}{
		"with an ingressRef": {
			opts: []canaryOption{withIngress("podinfo-ing")},
			want: `sum(rate(nginx_ingress_controller_requests{ingress="podinfo-ing"}[1m]))`},
		"without one it is the target": {
			want: `sum(rate(nginx_ingress_controller_requests{ingress="podinfo"}[1m]))`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			prom, url := newFakePrometheus(t, http.StatusOK, `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}}`)
			tmpl := newTemplate("requests", url, `sum(rate(nginx_ingress_controller_requests{ingress="{{ ingress }}"}[{{ interval }}]))`)
			checker := &Checker{Reader: newReader(t, tmpl)}
			opts := append(tc.opts, withMetrics(flaggerv1.CanaryMetric{Name: "requests", Interval: "1m",
				TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "requests"}}))
			canary := newCanary("podinfo", opts...)

			got := checker.Check(context.Background(), canary, "appmesh")[0]

			if got.Err != nil || len(prom.queries) != 1 || prom.queries[0] != tc.want {
				t.Errorf("result = %s, queries %q; want one query %q", showResult(got), prom.queries, tc.want)
			}
		})
	}
}
