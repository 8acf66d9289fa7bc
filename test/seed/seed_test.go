package seed

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m, "seed", "v1beta2")) }

// The seed with App Mesh v1beta2 (the default provider of the demo):
// VirtualRouter weights 5 … 50 carried by the emulator, promotion, then
// the faulty release halted and rolled back.
func TestSeedAppMeshV1beta2(t *testing.T) {
	t.Parallel()
	Play(t, "appmesh:v1beta2")
}

// The same seed Canary through Gateway API, the way off App Mesh: HTTPRoute
// backendRefs weights.
func TestSeedGatewayAPI(t *testing.T) {
	t.Parallel()
	Play(t, "gatewayapi:v1")
}
