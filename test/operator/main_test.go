// Package operator tests properties of the operator process as a whole
// against a real local control plane: leader election among replicas, and
// how fast a new revision of a target is detected.
package operator

import (
	"testing"

	"github.com/serin-dev/serin/test/framework"
)

// The leader-election test exercises the operator's lease permissions.
func TestMain(m *testing.M) { framework.MainCheckingRBAC(m, "operator", []string{"leases"}) }
