// Package appmeshv1beta1 runs the seed with the appmesh provider (App Mesh
// controller v0.x, v1beta1 VirtualServices with embedded routes) on a
// cluster of its own: its CRDs share their names with v1beta2's.
package appmeshv1beta1

import (
	"os"
	"testing"

	"github.com/serin-dev/serin/test/seed"
)

func TestMain(m *testing.M) { os.Exit(seed.Main(m, "seed-appmesh-v1beta1", "v1beta1")) }

// The seed with App Mesh v1beta1: VirtualService route weights 5 … 50,
// promotion, then the faulty release halted and rolled back.
func TestSeedAppMeshV1beta1(t *testing.T) {
	seed.Play(t, "appmesh")
}
