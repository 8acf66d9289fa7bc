// Package faults runs the fault campaign: canaries in the middle of their
// releases on a local control plane while the operator is killed at
// random, the API server restarts, Prometheus stops for two intervals, a
// webhook target hangs and a primary is deleted. It restarts the API
// server, so it has a control plane of its own.
//
//	go test -count=1 -v -run TestFaultCampaign ./test/faults/
//
// FAULTS_SEED=<n> replays the random kill times of an earlier run.
package faults

import (
	"testing"

	"github.com/serin-dev/serin/test/framework"
)

func TestMain(m *testing.M) { framework.Main(m, "faults") }
