package v1beta1_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/crdcheck"
)

// Serin releases Deployments only; every other target kind is refused at
// admission with a message naming the kind, in both served versions,
// while an ingressRef keeps its Ingress kind.
func TestTargetKindsOtherThanDeploymentAreRefusedAtAdmission(t *testing.T) {
	crd, err := crdcheck.Load("flagger.app_canaries.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []string{"v1beta1", "v1alpha3"} {
		for _, kind := range []string{"DaemonSet", "Service", "Ingress"} {
			t.Run(version+" "+kind, func(t *testing.T) {
				c := weightedCanary()
				c.APIVersion = "flagger.app/" + version
				c.Spec.TargetRef.Kind = kind
				errs, err := crd.ValidateObject(version, c)
				if err != nil {
					t.Fatal(err)
				}
				want := "spec.targetRef.kind " + kind + " is not supported: Serin releases Deployments only"
				if !strings.Contains(errs.ToAggregate().Error(), want) {
					t.Errorf("admission errors %v; want one containing %q", errs, want)
				}
			})
		}
	}
	c := weightedCanary()
	c.Spec.IngressRef = &v1beta1.TargetReference{APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: "podinfo"}
	if errs, err := crd.ValidateObject("v1beta1", c); err != nil || len(errs) > 0 {
		t.Errorf("a Deployment target with an Ingress ingressRef is refused: %v %v", errs, err)
	}
}

// The headers of a MetricTemplate's provider are bounded, cannot take
// over what the HTTP client manages, cannot replace the Secret's
// credentials, and go only to an address written next to them.
func TestMetricTemplateHeadersAreBoundedAtAdmission(t *testing.T) {
	crd, err := crdcheck.Load("flagger.app_metrictemplates.yaml")
	if err != nil {
		t.Fatal(err)
	}
	many := map[string]v1beta1.HeaderValues{}
	for _, k := range strings.Split("a b c d e f g h i j k l m n o p q", " ") {
		many["X-"+k] = v1beta1.HeaderValues{"1"}
	}
	cases := map[string]struct {
		// mutate changes a valid template with an address.
		mutate func(p *v1beta1.MetricTemplateProvider)
		// want is in the admission errors; empty when the template is valid.
		want string
	}{
		"a tenant header": {
			mutate: func(p *v1beta1.MetricTemplateProvider) {
				p.Headers = map[string]v1beta1.HeaderValues{"X-Scope-OrgID": {"team-a"}}
			},
		},
		"Authorization without a secretRef": {
			mutate: func(p *v1beta1.MetricTemplateProvider) {
				p.Headers = map[string]v1beta1.HeaderValues{"Authorization": {"Bearer abc"}}
			},
		},
		"Authorization with a secretRef": {
			mutate: func(p *v1beta1.MetricTemplateProvider) {
				p.SecretRef = &corev1.LocalObjectReference{Name: "prom-auth"}
				p.Headers = map[string]v1beta1.HeaderValues{"authorization": {"Bearer abc"}}
			},
			want: "provider.headers must not set Authorization with provider.secretRef",
		},
		"headers without an address": {
			mutate: func(p *v1beta1.MetricTemplateProvider) {
				p.Address = ""
				p.Headers = map[string]v1beta1.HeaderValues{"X-Scope-OrgID": {"team-a"}}
			},
			want: "provider.address is required with provider.headers",
		},
		"a header the client sets": {
			mutate: func(p *v1beta1.MetricTemplateProvider) {
				p.Headers = map[string]v1beta1.HeaderValues{"Host": {"other.example"}}
			},
			want: "provider.headers must not set Host, Content-Type",
		},
		"a hop-by-hop header": {
			mutate: func(p *v1beta1.MetricTemplateProvider) {
				p.Headers = map[string]v1beta1.HeaderValues{"transfer-encoding": {"chunked"}}
			},
			want: "provider.headers must not set Host, Content-Type",
		},
		"a name that is no header name": {
			mutate: func(p *v1beta1.MetricTemplateProvider) {
				p.Headers = map[string]v1beta1.HeaderValues{"X Scope": {"team-a"}}
			},
			want: "provider.headers names must be 1 to 128 letters, digits",
		},
		"a value with a line break": {
			mutate: func(p *v1beta1.MetricTemplateProvider) {
				p.Headers = map[string]v1beta1.HeaderValues{"X-Scope-OrgID": {"a\r\nHost: evil"}}
			},
			want: "spec.provider.headers.X-Scope-OrgID[0]: Invalid value",
		},
		"a value too long": {
			mutate: func(p *v1beta1.MetricTemplateProvider) {
				p.Headers = map[string]v1beta1.HeaderValues{"X-Scope-OrgID": {v1beta1.HeaderValue(strings.Repeat("a", 1025))}}
			},
			want: "spec.provider.headers.X-Scope-OrgID[0]: Too long",
		},
		"too many headers": {
			mutate: func(p *v1beta1.MetricTemplateProvider) { p.Headers = many },
			want:   "spec.provider.headers: Too many",
		},
		"too many values": {
			mutate: func(p *v1beta1.MetricTemplateProvider) {
				p.Headers = map[string]v1beta1.HeaderValues{"X-A": {"1", "2", "3", "4", "5", "6", "7", "8", "9"}}
			},
			want: "spec.provider.headers.X-A: Too many",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tmpl := &v1beta1.MetricTemplate{
				TypeMeta:   metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "MetricTemplate"},
				ObjectMeta: metav1.ObjectMeta{Name: "errors", Namespace: "test"},
				Spec: v1beta1.MetricTemplateSpec{
					Provider: v1beta1.MetricTemplateProvider{Type: "prometheus", Address: "http://mimir.monitoring:8080/prometheus"},
					Query:    "sum(errors)",
				},
			}
			tc.mutate(&tmpl.Spec.Provider)
			errs, err := crd.ValidateObject("v1beta1", tmpl)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("the valid template is refused: %v", errs)
			case tc.want != "" && !strings.Contains(fmt.Sprint(errs), tc.want):
				t.Errorf("admission errors %v; want one containing %q", errs, tc.want)
			}
		})
	}
}

// The CRD refuses every name of ReservedHeaders, in any case, and its
// name rule is HeaderNamePattern, which the checker tests again.
func TestTheHeaderRulesAreTheCheckersLists(t *testing.T) {
	crd, err := crdcheck.Load("flagger.app_metrictemplates.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append(slices.Clone(v1beta1.ReservedHeaders), "x-scope-orgid", "Authorization") {
		for _, spelling := range []string{name, strings.ToLower(name), strings.ToUpper(name)} {
			tmpl := &v1beta1.MetricTemplate{
				TypeMeta:   metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "MetricTemplate"},
				ObjectMeta: metav1.ObjectMeta{Name: "errors", Namespace: "test"},
				Spec: v1beta1.MetricTemplateSpec{
					Provider: v1beta1.MetricTemplateProvider{Type: "prometheus", Address: "http://mimir.monitoring:8080",
						Headers: map[string]v1beta1.HeaderValues{spelling: {"1"}}},
					Query: "sum(errors)",
				},
			}
			errs, err := crd.ValidateObject("v1beta1", tmpl)
			if err != nil {
				t.Fatal(err)
			}
			reserved := slices.Contains(v1beta1.ReservedHeaders, name)
			if refused := strings.Contains(fmt.Sprint(errs), "provider.headers must not set Host"); refused != reserved {
				t.Errorf("header %s: refused %t (%v), want %t", spelling, refused, errs, reserved)
			}
		}
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "flagger.app_metrictemplates.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if rule := "k.matches('" + v1beta1.HeaderNamePattern + "')"; !strings.Contains(string(data), rule) {
		t.Errorf("the MetricTemplate CRD has no rule %s", rule)
	}
}
