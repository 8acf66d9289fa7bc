// Package steer tests what people see and steer a release with against a
// real local control plane: the kubectl-serin plugin (run by kubectl as a
// plugin, golden output), the dashboard with the API server's TokenReview
// and SubjectAccessReview, its server-sent events, and its pages in a real
// headless Chromium while the operator runs a release.
package steer

import (
	"testing"

	"github.com/serin-dev/serin/test/framework"
)

func TestMain(m *testing.M) { framework.Main(m, "steer") }
