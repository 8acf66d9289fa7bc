package v1beta1_test

import (
	"context"
	"path/filepath"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
)

// admission validates objects as the API server does on create: the
// OpenAPI schema of a served version of a generated CRD, then its CEL
// rules. It runs without a cluster, so every rule gets a fast table test;
// test/e2e checks the same CRDs on a real API server.
type admission struct {
	schema     apiservervalidation.SchemaCreateValidator
	structural *structuralschema.Structural
	cel        *cel.Validator
}

func newAdmission(t *testing.T, file, version string) *admission {
	t.Helper()
	v1 := readCRD(t, filepath.Join("..", "..", "config", "crd", "bases", file))
	for _, v := range v1.Spec.Versions {
		if v.Name != version {
			continue
		}
		var props apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &props, nil); err != nil {
			t.Fatal(err)
		}
		validator, _, err := apiservervalidation.NewSchemaValidator(&props)
		if err != nil {
			t.Fatal(err)
		}
		structural, err := structuralschema.NewStructural(&props)
		if err != nil {
			t.Fatal(err)
		}
		return &admission{schema: validator, structural: structural, cel: cel.NewValidator(structural, true, celconfig.PerCallLimit)}
	}
	t.Fatalf("%s has no version %s", file, version)
	return nil
}

// errors returns what the API server would refuse the object for.
func (a *admission) errors(obj map[string]any) field.ErrorList {
	errs := apiservervalidation.ValidateCustomResource(nil, obj, a.schema)
	if len(errs) > 0 {
		return errs
	}
	celErrs, _ := a.cel.Validate(context.Background(), nil, a.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return celErrs
}
