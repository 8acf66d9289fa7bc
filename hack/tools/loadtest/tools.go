//go:build tools

// Package tools pins the load generators the serin-loadtester image
// carries: hey (HTTP) and ghz (gRPC). hack/images builds them.
package tools

import (
	_ "github.com/bojand/ghz/cmd/ghz"
	_ "github.com/rakyll/hey"
)
