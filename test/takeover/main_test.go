// Package takeover tests Serin starting on a cluster where Flagger ran: the
// tests build the state Flagger leaves behind (its status shape, hashes and
// checksums, finalizer, and the objects it generated, with the flagger-id
// annotation on the primary's pods) and then start the operator.
package takeover

import (
	"testing"

	"github.com/serin-dev/serin/test/framework"
)

func TestMain(m *testing.M) { framework.Main(m, "takeover") }
