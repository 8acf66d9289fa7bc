package replay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// maxManifestBytes bounds what Load reads from all files together.
const maxManifestBytes = 4 << 20

// Manifests are the objects a replay reads from files.
type Manifests struct {
	Canary    *flaggerv1.Canary
	Templates []flaggerv1.MetricTemplate
}

// Load reads YAML documents (flagger.app Canary in v1beta1 or v1alpha3,
// MetricTemplate) and keeps exactly one Canary; other kinds are refused,
// so a file of the wrong release is not half used.
func Load(files map[string]io.Reader) (Manifests, error) {
	var m Manifests
	for name, r := range files {
		data, err := io.ReadAll(io.LimitReader(r, maxManifestBytes+1))
		if err != nil {
			return m, fmt.Errorf("read %s: %w", name, err)
		}
		if len(data) > maxManifestBytes {
			return m, fmt.Errorf("%s: larger than %d bytes", name, maxManifestBytes)
		}
		if err := m.add(name, data); err != nil {
			return m, err
		}
	}
	if m.Canary == nil {
		return m, errors.New("no Canary in the files (-f): replay needs the Canary of the releases")
	}
	if m.Canary.Namespace == "" {
		return m, fmt.Errorf("canary %s has no metadata.namespace: the recorded series are labelled with it", m.Canary.Name)
	}
	return m, nil
}

func (m *Manifests) add(name string, data []byte) error {
	docs := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 0; ; i++ {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		var meta struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		gv, _ := schema.ParseGroupVersion(meta.APIVersion)
		switch {
		case meta.Kind == "" && len(bytes.TrimSpace(doc)) == 0:
		case gv.Group == flaggerv1.GroupVersion.Group && meta.Kind == "Canary":
			if m.Canary != nil {
				return fmt.Errorf("%s: document %d: a second Canary (%s already read): replay takes one", name, i+1, m.Canary.Name)
			}
			m.Canary = &flaggerv1.Canary{}
			// v1alpha3 has the same spec types, with spec.canaryAnalysis.
			if err := yaml.UnmarshalStrict(doc, m.Canary); err != nil {
				return fmt.Errorf("%s: canary: %w", name, err)
			}
		case gv.Group == flaggerv1.GroupVersion.Group && meta.Kind == "MetricTemplate":
			var t flaggerv1.MetricTemplate
			if err := yaml.UnmarshalStrict(doc, &t); err != nil {
				return fmt.Errorf("%s: metric template: %w", name, err)
			}
			m.Templates = append(m.Templates, t)
		default:
			return fmt.Errorf("%s: document %d is a %s %s; replay reads flagger.app Canary and MetricTemplate", name, i+1, meta.APIVersion, meta.Kind)
		}
	}
}

// templateReader answers the metrics checker's reads of MetricTemplates
// from the files.
type templateReader struct{ templates []flaggerv1.MetricTemplate }

var _ client.Reader = templateReader{}

func (r templateReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	out, ok := obj.(*flaggerv1.MetricTemplate)
	if !ok {
		return fmt.Errorf("replay reads only MetricTemplates, not %T", obj)
	}
	for _, t := range r.templates {
		if t.Name == key.Name && (t.Namespace == key.Namespace || t.Namespace == "") {
			t.DeepCopyInto(out)
			out.Namespace = key.Namespace
			return nil
		}
	}
	return apierrors.NewNotFound(flaggerv1.GroupVersion.WithResource("metrictemplates").GroupResource(), key.String()+" (not in the files given with -f)")
}

func (r templateReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errors.New("replay lists nothing")
}

// TemplateReader serves the MetricTemplates read from files to the
// metrics checker.
func TemplateReader(templates []flaggerv1.MetricTemplate) client.Reader {
	return templateReader{templates: templates}
}
