package framework

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// ReadObjects parses a multi-document YAML file under testdata.
func ReadObjects(t testing.TB, name string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeObjects(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return objs
}

// DecodeObjects parses multi-document YAML.
func DecodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// Apply creates the objects of a testdata file in namespace ns.
func (e *Env) Apply(t testing.TB, ns, name string) []*unstructured.Unstructured {
	t.Helper()
	objs := ReadObjects(t, name)
	e.CreateObjects(t, ns, objs...)
	return objs
}

// CreateObjects creates objects in namespace ns.
func (e *Env) CreateObjects(t testing.TB, ns string, objs ...*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		o.SetNamespace(ns)
		if err := e.Client.Create(context.Background(), o); err != nil {
			t.Fatalf("create %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
}
