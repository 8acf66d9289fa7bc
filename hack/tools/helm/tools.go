//go:build tools

// Package tools pins Helm, which the install tests use to lint the charts
// and install them into the local control plane.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
