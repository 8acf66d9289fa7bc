//go:build tools

// Package tools pins Flux's source-controller and kustomize-controller,
// which the GitOps tests and demo run against the local control plane.
package tools

import (
	_ "github.com/fluxcd/kustomize-controller"
	_ "github.com/fluxcd/source-controller"
)
