//go:build tools

// Package tools pins kwok, which turns fake nodes and pods Ready for the
// local test cluster.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
