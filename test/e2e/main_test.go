// Package e2e tests the operator as a process against a real local control
// plane: initialization of the seed's canary, admission validation, and
// restart behaviour.
package e2e

import (
	"testing"

	"github.com/serin-dev/serin/test/framework"
)

// The App Mesh v1beta2 and Istio CRDs are installed here; App Mesh
// v1beta1's share their names with v1beta2's and get a cluster of their own
// in test/e2e/appmeshv1beta1, which also has no Istio. These tests exercise
// everything the operator does with every resource but the leader-election
// lease (test/operator), so every verb the generated ClusterRole grants on
// them must show in the operator's requests.
func TestMain(m *testing.M) {
	framework.MainCheckingRBAC(m, "e2e", []string{
		"canaries", "canaries/status", "canaries/finalizers", "metrictemplates",
		"deployments", "horizontalpodautoscalers", "services", "configmaps", "secrets", "events",
		"httproutes", "virtualnodes", "virtualrouters", "virtualservices", "destinationrules",
	}, "test/crds/appmesh/v1beta2", "test/crds/istio")
}
