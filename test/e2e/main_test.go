// Package e2e tests the operator as a process against a real local control
// plane: initialization of the seed's canary, admission validation, and
// restart behaviour.
package e2e

import (
	"testing"

	"github.com/serin-dev/serin/test/framework"
)

// The App Mesh v1beta2 CRDs are installed here; v1beta1's share their names
// and get a cluster of their own in test/e2e/appmeshv1beta1.
func TestMain(m *testing.M) { framework.Main(m, "e2e", "test/crds/appmesh/v1beta2") }
