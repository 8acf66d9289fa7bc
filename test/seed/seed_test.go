package seed

import (
	"os"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m, "seed", "v1beta2")) }

// The seed with App Mesh v1beta2 (the default provider of the demo):
// VirtualRouter weights 5 … 50 carried by the emulator, promotion, then
// the faulty release halted and rolled back; then `serin replay` over the
// run's window takes the same decisions.
func TestSeedAppMeshV1beta2(t *testing.T) {
	t.Parallel()
	from := time.Now().Add(-time.Second)
	sc := Play(t, "appmesh:v1beta2")
	checkReplay(t, sc, from)
}

// The same seed Canary through Gateway API, the way off App Mesh: HTTPRoute
// backendRefs weights, measured as Flagger's HTTP observer does, on the
// application's own http_request_duration_seconds (there is no sidecar
// after App Mesh), never on Envoy's series.
func TestSeedGatewayAPI(t *testing.T) {
	t.Parallel()
	sc := Play(t, "gatewayapi:v1")
	checkMeasuredSeries(t, sc, []string{"http_request_duration_seconds_count{", "http_request_duration_seconds_bucket{"}, "envoy_cluster_upstream_rq")
}

// The seed Canary on Istio: VirtualService weights 5 … 50, measured with
// Istio's istio_requests_total and istio_request_duration_milliseconds.
func TestSeedIstio(t *testing.T) {
	t.Parallel()
	Play(t, "istio")
}

// The seed Canary on Linkerd: weights 5 … 50 on the HTTPRoute attached to
// the apex Service, measured with Linkerd's response_total and
// response_latency_ms.
func TestSeedLinkerd(t *testing.T) {
	t.Parallel()
	Play(t, "linkerd")
}
