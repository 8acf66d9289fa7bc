package appmesh

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	mesh "github.com/serin-dev/serin/internal/router/appmesh/apis/v1beta2"
)

func TestGatewayAnnotationsExposeTheApexServiceForHosts(t *testing.T) {
	tests := map[string]struct {
		// opts configure the canary's service.
		opts []canaryOption
		// want are the annotations; nil means none.
		want map[string]string
	}{
		"none without hosts": {opts: []canaryOption{withTimeout("5s")}},
		"defaults with hosts": {
			opts: []canaryOption{withHosts("podinfo.example.com", "www.example.com")},
			want: map[string]string{
				"gateway.appmesh.k8s.aws/expose":  "true",
				"gateway.appmesh.k8s.aws/domain":  "podinfo.example.com,www.example.com",
				"gateway.appmesh.k8s.aws/timeout": "15s",
				"gateway.appmesh.k8s.aws/retries": "0",
			},
		},
		"the service's timeout and retry attempts": {
			opts: []canaryOption{withHosts("*"), withTimeout("30s"), withRetries(flaggerv1.HTTPRetry{Attempts: 3})},
			want: map[string]string{
				"gateway.appmesh.k8s.aws/expose":  "true",
				"gateway.appmesh.k8s.aws/domain":  "*",
				"gateway.appmesh.k8s.aws/timeout": "30s",
				"gateway.appmesh.k8s.aws/retries": "3",
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assertSame(t, "annotations", GatewayAnnotations(newCanary(tc.opts...)), tc.want)
		})
	}
}

func TestDurationsUseSecondsWhenWholeAndMillisecondsOtherwise(t *testing.T) {
	tests := map[string]struct {
		in   time.Duration
		want mesh.Duration
	}{
		"whole seconds":      {15 * time.Second, mesh.Duration{Unit: "s", Value: 15}},
		"a minute":           {time.Minute, mesh.Duration{Unit: "s", Value: 60}},
		"milliseconds":       {250 * time.Millisecond, mesh.Duration{Unit: "ms", Value: 250}},
		"seconds and a half": {1500 * time.Millisecond, mesh.Duration{Unit: "ms", Value: 1500}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assertSame(t, "duration", v1beta2Duration(tc.in), tc.want)
		})
	}
}

func TestRetryOnIsSplitIntoAppMeshEventKinds(t *testing.T) {
	http, tcp, grpc := splitRetryOn("5xx,gateway-error, server-error,connect-failure,unavailable,retriable-4xx,reset")
	assertSame(t, "http events", http, []string{"server-error", "gateway-error", "client-error"})
	assertSame(t, "tcp events", tcp, []string{"connection-error"})
	assertSame(t, "grpc events", grpc, []string{"unavailable"})

	onlyGRPC := retrySettings{grpc: []string{"cancelled"}}
	assertSame(t, "HTTP route events when only gRPC events are named", onlyGRPC.httpEvents(), []string{"gateway-error"})
	if got := onlyGRPC.grpcHTTPEvents(); got != nil {
		t.Errorf("a gRPC route with gRPC events needs no stand-in HTTP event, got %v", got)
	}
}

func TestUnsupportedSettingsAreReportedWithTheirField(t *testing.T) {
	tests := map[string]struct {
		// opts configure the canary.
		opts []canaryOption
		// wantField is named by the error.
		wantField string
	}{
		"a URI regex in an A/B match": {
			opts:      []canaryOption{withABMatch(flaggerv1.HTTPMatchRequest{URI: &flaggerv1.StringMatch{Regex: "^/v2"}})},
			wantField: "analysis.match[0].uri",
		},
		"a method prefix in an A/B match": {
			opts:      []canaryOption{withABMatch(flaggerv1.HTTPMatchRequest{Method: &flaggerv1.StringMatch{Prefix: "P"}})},
			wantField: "analysis.match[0].method",
		},
		"a timeout that is no duration": {opts: []canaryOption{withTimeout("soon")}, wantField: "spec.service.timeout"},
		"a per-try timeout that is no duration": {
			opts:      []canaryOption{withRetries(flaggerv1.HTTPRetry{Attempts: 1, PerTryTimeout: "0s"})},
			wantField: "spec.service.retries.perTryTimeout",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := newRouteSettings(newCanary(tc.opts...))
			if err == nil || !strings.Contains(err.Error(), tc.wantField) {
				t.Errorf("want an error naming %s, got %v", tc.wantField, err)
			}
		})
	}
}

func TestANamedTargetPortMissingFromTheTargetIsReported(t *testing.T) {
	cl := newCluster(t, true)
	err := NewV1beta2(cl, cl.scheme).Reconcile(t.Context(), newCanary(withTargetPort(intstr.FromString("metrics"))), initialWeights)
	if err == nil || !strings.Contains(err.Error(), `spec.service.targetPort "metrics"`) {
		t.Errorf("want an error naming the target port, got %v", err)
	}
}
