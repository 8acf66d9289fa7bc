package v1beta1_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"sigs.k8s.io/yaml"

	"github.com/serin-dev/serin/api/v1beta1"
)

// The generated CRDs pass the API server's own validation of a
// CustomResourceDefinition, including the compilation and the estimated
// cost of every CEL rule (a rule over an unbounded list or string is
// refused at install time), so a marker that the API server would refuse
// fails here, without a cluster.
func TestGeneratedCRDsAreAcceptedByTheAPIServersValidation(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "crd", "bases", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs found: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			v1 := readCRD(t, file)
			// Stored versions are recorded by the API server on install.
			for _, v := range v1.Spec.Versions {
				if v.Storage {
					v1.Status.StoredVersions = []string{v.Name}
				}
			}
			var crd apiextensions.CustomResourceDefinition
			if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(&v1, &crd, nil); err != nil {
				t.Fatal(err)
			}
			for _, e := range validation.ValidateCustomResourceDefinition(context.Background(), &crd) {
				t.Errorf("%s", e)
			}
		})
	}
}

// readCRD reads a generated CRD.
func readCRD(t *testing.T, file string) apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &crd); err != nil {
		t.Fatal(err)
	}
	return crd
}

// The CRD refuses the same templateVariables values as the renderer, which
// compiles TemplateVariablePattern: the rule in the CRD is that pattern.
func TestTheTemplateVariablesRuleIsTheRenderersPattern(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "flagger.app_canaries.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rule := "self.all(k, self[k].matches(r'" + v1beta1.TemplateVariablePattern + "'))"
	if n := strings.Count(string(data), rule); n != 4 {
		t.Errorf("the rule %s appears %d times in the Canary CRD, want 4 (analysis and canaryAnalysis of two versions)", rule, n)
	}
}
