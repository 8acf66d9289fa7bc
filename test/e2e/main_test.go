// Package e2e tests the operator as a process against a real local control
// plane: initialization of the seed's canary, admission validation, and
// restart behaviour.
package e2e

import (
	"testing"

	"github.com/serin-dev/serin/test/framework"
)

func TestMain(m *testing.M) { framework.Main(m, "e2e") }
