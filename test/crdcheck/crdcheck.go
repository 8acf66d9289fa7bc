// Package crdcheck validates objects against Serin's generated CRDs in
// process, as the API server does on create: the OpenAPI schema (types,
// enums, patterns, limits) and every CEL rule. Unit tests use it to assert
// admission messages without a cluster; test/e2e checks a sample of the
// same refusals against a real API server.
package crdcheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	"github.com/serin-dev/serin/test/cluster"
)

// CRD is one generated CustomResourceDefinition.
type CRD struct {
	// Def is the definition as generated.
	Def      apiextensionsv1.CustomResourceDefinition
	versions map[string]version
}

type version struct {
	schema     *apiextensionsv1.JSONSchemaProps
	structural *schema.Structural
	validator  validation.SchemaValidator
	cel        *cel.Validator
}

// Load reads config/crd/bases/<file>, e.g. flagger.app_canaries.yaml.
func Load(file string) (*CRD, error) {
	root, err := cluster.RepoRoot()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(root, "config", "crd", "bases", file))
	if err != nil {
		return nil, err
	}
	c := &CRD{versions: map[string]version{}}
	if err := yaml.UnmarshalStrict(data, &c.Def); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	for _, v := range c.Def.Spec.Versions {
		var internal apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
			return nil, err
		}
		s, err := schema.NewStructural(&internal)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", file, v.Name, err)
		}
		sv, _, err := validation.NewSchemaValidator(&internal)
		if err != nil {
			return nil, err
		}
		c.versions[v.Name] = version{schema: v.Schema.OpenAPIV3Schema, structural: s, validator: sv,
			cel: cel.NewValidator(s, true, celconfig.PerCallLimit)}
	}
	return c, nil
}

// Schema is the OpenAPI schema of a served version.
func (c *CRD) Schema(versionName string) *apiextensionsv1.JSONSchemaProps {
	return c.versions[versionName].schema
}

// Validate checks obj (an object of the CRD's kind, as JSON-like maps) as
// the API server would admit it in the given version.
func (c *CRD) Validate(versionName string, obj map[string]any) field.ErrorList {
	v, ok := c.versions[versionName]
	if !ok {
		return field.ErrorList{field.NotSupported[string](field.NewPath("apiVersion"), versionName, nil)}
	}
	errs := validation.ValidateCustomResource(nil, obj, v.validator)
	celErrs, _ := v.cel.Validate(context.Background(), nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// ValidateObject converts a typed object to maps and validates it as it
// is created: without its status, which the API server drops on create.
func (c *CRD) ValidateObject(versionName string, obj any) (field.ErrorList, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	delete(u, "status")
	return c.Validate(versionName, u), nil
}
