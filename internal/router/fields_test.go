package router_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
	"github.com/serin-dev/serin/test/cluster"
	"github.com/serin-dev/serin/test/crdcheck"
)

// update rewrites the field rules' markers on CanarySpec from
// router.FieldRules: go test ./internal/router -update, then make generate.
var update = flag.Bool("update", false, "rewrite the FieldRules markers in api/v1beta1/canary_types.go")

// markersEnd is the line after the field rules' markers.
const markersEnd = "type CanarySpec struct {"

// markersStart ends the comment before them.
const markersStart = "// provider from --mesh-provider) and a test keeps the two equal."

// examples set each field of router.FieldRules (by its Field) in a canary.
var examples = map[string]func(c *flaggerv1.Canary){
	"spec.service.timeout":        func(c *flaggerv1.Canary) { c.Spec.Service.Timeout = "15s" },
	"spec.service.backendTimeout": func(c *flaggerv1.Canary) { c.Spec.Service.BackendTimeout = "5s" },
	"spec.service.retries":        func(c *flaggerv1.Canary) { c.Spec.Service.Retries = &flaggerv1.HTTPRetry{Attempts: 2} },
	"spec.service.match": func(c *flaggerv1.Canary) {
		c.Spec.Service.Match = []flaggerv1.HTTPMatchRequest{{Headers: map[string]flaggerv1.StringMatch{"x-user": {Exact: "1"}}}}
	},
	"spec.analysis.match[].uri": func(c *flaggerv1.Canary) {
		abTest(c, flaggerv1.HTTPMatchRequest{URI: &flaggerv1.StringMatch{Regex: "/v[0-9]"}})
	},
	"spec.analysis.match[].method": func(c *flaggerv1.Canary) {
		abTest(c, flaggerv1.HTTPMatchRequest{Method: &flaggerv1.StringMatch{Prefix: "P"}})
	},
	"match[].method": func(c *flaggerv1.Canary) {
		abTest(c, flaggerv1.HTTPMatchRequest{Method: &flaggerv1.StringMatch{Regex: "P(UT|OST)"}})
	},
	"match[].queryParams": func(c *flaggerv1.Canary) {
		abTest(c, flaggerv1.HTTPMatchRequest{QueryParams: map[string]flaggerv1.StringMatch{"beta": {Exact: "1"}}})
	},
	"match[].sourceLabels": func(c *flaggerv1.Canary) {
		abTest(c, flaggerv1.HTTPMatchRequest{SourceLabels: map[string]string{"app": "frontend"}})
	},
	"spec.service.gateways":    func(c *flaggerv1.Canary) { c.Spec.Service.Gateways = []string{"public-gateway"} },
	"spec.service.gatewayRefs": func(c *flaggerv1.Canary) { c.Spec.Service.GatewayRefs = []flaggerv1.ParentReference{{Name: "public"}} },
	"spec.service.hosts":       func(c *flaggerv1.Canary) { c.Spec.Service.Hosts = []string{"app.example.com"} },
	"spec.service.trafficPolicy": func(c *flaggerv1.Canary) {
		c.Spec.Service.TrafficPolicy = rawJSON(`{"tls":{"mode":"ISTIO_MUTUAL"}}`)
	},
	"spec.service.meshName":   func(c *flaggerv1.Canary) { c.Spec.Service.MeshName = "global" },
	"spec.service.backends":   func(c *flaggerv1.Canary) { c.Spec.Service.Backends = []string{"backend.test"} },
	"spec.service.headers":    func(c *flaggerv1.Canary) { c.Spec.Service.Headers = rawJSON(`{"request":{"set":{"x-a":"1"}}}`) },
	"spec.service.corsPolicy": func(c *flaggerv1.Canary) { c.Spec.Service.CorsPolicy = rawJSON(`{"allowOrigins":[{"exact":"a.io"}]}`) },
	"spec.service.rewrite":    func(c *flaggerv1.Canary) { c.Spec.Service.Rewrite = &flaggerv1.HTTPRewrite{URI: "/v2"} },
	"spec.service.rewrite.type": func(c *flaggerv1.Canary) {
		c.Spec.Service.Rewrite = &flaggerv1.HTTPRewrite{URI: "/v2", Type: "ReplacePrefixMatch"}
	},
	"spec.analysis.mirror": func(c *flaggerv1.Canary) { c.GetAnalysis().Mirror = true },
	"spec.analysis.sessionAffinity": func(c *flaggerv1.Canary) {
		weighted(c)
		c.GetAnalysis().SessionAffinity = &flaggerv1.SessionAffinity{CookieName: "canary"}
	},
	"spec.analysis.match": func(c *flaggerv1.Canary) {
		abTest(c, flaggerv1.HTTPMatchRequest{Headers: map[string]flaggerv1.StringMatch{"x-canary": {Exact: "insider"}}})
	},
	"spec.analysis.judge": func(c *flaggerv1.Canary) {
		weighted(c)
		c.GetAnalysis().Judge = &flaggerv1.CanaryJudge{}
	},
	"spec.analysis.stepWeight and stepWeights": weighted,
}

// Every field a provider refuses is refused twice in the same words: at
// admission by the CRD when spec.provider names the provider, and by
// router.CheckFields when the provider comes from --mesh-provider. Each
// rule is checked with the real CEL rules of the generated CRD, for both
// names of the analysis, and against every provider: those that honour
// the field must accept it.
func TestEveryRefusedFieldIsRefusedAtAdmissionAndByTheReconciler(t *testing.T) {
	crd, err := crdcheck.Load("flagger.app_canaries.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range router.FieldRules {
		example, ok := examples[r.Field]
		if !ok {
			t.Errorf("no example sets %s: add one to examples in %s", r.Field, "internal/router/fields_test.go")
			continue
		}
		for _, provider := range router.Providers {
			for _, v1alpha3 := range []bool{false, true} {
				c := newCanary(provider, v1alpha3)
				example(c)
				if !r.Set(c) {
					t.Fatalf("the example of %s does not set it", r.Field)
				}
				want := r.Error(c, provider).Error()
				got := admissionErrors(t, crd, c)
				refused := slices.Contains(r.RefusedBy, provider)
				if refused != slices.Contains(got, want) {
					t.Errorf("%s under %s (v1alpha3 %v): admission errors %q; want %q: %v", r.Field, provider, v1alpha3, got, want, refused)
				}
				err := router.CheckFields(c, provider)
				if refused && (err == nil || !slices.Contains(got, err.Error())) {
					t.Errorf("%s under %s: CheckFields = %v, want one of the admission errors %q", r.Field, provider, err, got)
				}
			}
		}
	}
}

// The rules are in the CRD exactly as router.FieldRules writes them, and
// the CRD refuses no field for a provider that the table does not list;
// a failure prints the marker to add to CanarySpec.
func TestTheCRDHoldsExactlyTheFieldRules(t *testing.T) {
	if *update {
		updateMarkers(t)
	}
	crd, err := crdcheck.Load("flagger.app_canaries.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []string{"v1beta1", "v1alpha3"} {
		rules := crd.Schema(version).Properties["spec"].XValidations
		for _, r := range router.FieldRules {
			if !slices.ContainsFunc(rules, func(v apiextensionsv1.ValidationRule) bool {
				return v.Rule == r.Rule() && v.MessageExpression == r.MessageExpression()
			}) {
				t.Errorf("the %s CRD lacks the rule for %s refused by %v; add this marker to CanarySpec in api/v1beta1/canary_types.go and run make generate:\n%s",
					version, r.Field, r.RefusedBy, r.MarkerLine())
			}
		}
		for _, v := range rules {
			if !strings.Contains(v.Message+v.MessageExpression, "not supported by provider") {
				continue
			}
			if !slices.ContainsFunc(router.FieldRules, func(r router.FieldRule) bool { return v.Rule == r.Rule() }) {
				t.Errorf("the %s CRD refuses a field that router.FieldRules does not list, so --mesh-provider canaries are not refused: %s", version, v.Rule)
			}
		}
	}
}

// A canary that sets none of the fields is accepted under every provider.
func TestAPlainCanaryIsAcceptedUnderEveryProvider(t *testing.T) {
	crd, err := crdcheck.Load("flagger.app_canaries.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, provider := range router.Providers {
		c := newCanary(provider, false)
		if got := admissionErrors(t, crd, c); len(got) > 0 {
			t.Errorf("%s: %q", provider, got)
		}
		if err := router.CheckFields(c, provider); err != nil {
			t.Errorf("%s: %v", provider, err)
		}
	}
}

// newCanary is a valid canary: blue/green (iterations) under kubernetes,
// which cannot weigh traffic, and weighted under the other providers.
func newCanary(provider string, v1alpha3 bool) *flaggerv1.Canary {
	c := &flaggerv1.Canary{
		TypeMeta:   metav1.TypeMeta{APIVersion: flaggerv1.GroupVersion.String(), Kind: "Canary"},
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test"},
		Spec: flaggerv1.CanarySpec{
			Provider:  provider,
			TargetRef: flaggerv1.TargetReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "podinfo"},
			Service:   flaggerv1.CanaryService{Port: 9898},
		},
	}
	a := &flaggerv1.CanaryAnalysis{Interval: "1m", Threshold: 5, StepWeight: 10}
	if provider == router.Kubernetes {
		a.StepWeight, a.Iterations = 0, 5
	}
	if v1alpha3 {
		c.Spec.CanaryAnalysis = a
	} else {
		c.Spec.Analysis = a
	}
	return c
}

// abTest makes the canary an A/B test with one match.
func abTest(c *flaggerv1.Canary, m flaggerv1.HTTPMatchRequest) {
	a := c.GetAnalysis()
	a.StepWeight, a.StepWeights, a.Iterations = 0, nil, 5
	a.Match = []flaggerv1.HTTPMatchRequest{m}
}

// weighted makes the canary a weighted release.
func weighted(c *flaggerv1.Canary) {
	a := c.GetAnalysis()
	a.Iterations, a.StepWeight = 0, 10
}

func rawJSON(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }

// admissionErrors are the details of the CRD's refusal of c.
func admissionErrors(t *testing.T, crd *crdcheck.CRD, c *flaggerv1.Canary) []string {
	t.Helper()
	errs, err := crd.ValidateObject("v1beta1", c)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, detail(e))
	}
	return out
}

// detail is the message of a rule's error, without the field path.
func detail(e *field.Error) string {
	if e.Detail != "" {
		return e.Detail
	}
	return fmt.Sprint(e.BadValue)
}

// updateMarkers replaces the markers between markersStart and markersEnd
// in api/v1beta1/canary_types.go with those of router.FieldRules.
func updateMarkers(t *testing.T) {
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "api", "v1beta1", "canary_types.go")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start, end := strings.Index(text, markersStart), strings.Index(text, markersEnd)
	if start < 0 || end < start {
		t.Fatalf("%s has no %q comment before %q", path, markersStart, markersEnd)
	}
	var b strings.Builder
	b.WriteString(text[:start+len(markersStart)] + "\n")
	for _, r := range router.FieldRules {
		b.WriteString(r.MarkerLine() + "\n")
	}
	b.WriteString(text[end:])
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
