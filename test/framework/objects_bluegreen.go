package framework

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// OnKubernetesProvider turns a Canary manifest into one for the kubernetes
// provider: ClusterIP Services cannot split traffic by weight, so the API
// server refuses stepWeight there, and the analysis runs as blue/green for
// iterations instead of weight steps.
func OnKubernetesProvider(t testing.TB, canary *unstructured.Unstructured, iterations int64) {
	t.Helper()
	for _, field := range []string{"stepWeight", "stepWeights", "maxWeight", "stepWeightPromotion"} {
		unstructured.RemoveNestedField(canary.Object, "spec", "analysis", field)
	}
	if err := unstructured.SetNestedField(canary.Object, "kubernetes", "spec", "provider"); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(canary.Object, iterations, "spec", "analysis", "iterations"); err != nil {
		t.Fatal(err)
	}
}
