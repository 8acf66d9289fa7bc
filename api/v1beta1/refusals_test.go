package v1beta1_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/crdcheck"
)

// Settings that would be accepted and then ignored whatever the provider
// are refused at admission with a message naming the field. (Fields a
// provider cannot honour are tested with internal/router.FieldRules.)
func TestSettingsThatWouldBeIgnoredAreRefusedAtAdmission(t *testing.T) {
	crd, err := crdcheck.Load("flagger.app_canaries.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		// mutate makes a valid weighted canary invalid.
		mutate func(c *v1beta1.Canary)
		// want is in the admission errors.
		want string
	}{
		"mirrorWeight without mirror": {
			mutate: func(c *v1beta1.Canary) { c.Spec.Analysis.MirrorWeight = 25 },
			want:   "mirrorWeight needs mirror: true",
		},
		"maxWeight with iterations": {
			mutate: func(c *v1beta1.Canary) { blueGreen(c); c.Spec.Analysis.MaxWeight = 50 },
			want:   "maxWeight and stepWeightPromotion apply to weighted canaries",
		},
		"stepWeightPromotion with iterations": {
			mutate: func(c *v1beta1.Canary) { blueGreen(c); c.Spec.Analysis.StepWeightPromotion = 50 },
			want:   "maxWeight and stepWeightPromotion apply to weighted canaries",
		},
		"mirroring an A/B test": {
			mutate: func(c *v1beta1.Canary) {
				blueGreen(c)
				c.Spec.Analysis.Match = []v1beta1.HTTPMatchRequest{{Headers: map[string]v1beta1.StringMatch{"x-canary": {Exact: "1"}}}}
				c.Spec.Analysis.Mirror = true
			},
			want: "mirror is not supported with match (A/B testing)",
		},
		"session affinity in a blue/green release": {
			mutate: func(c *v1beta1.Canary) {
				blueGreen(c)
				c.Spec.Analysis.SessionAffinity = &v1beta1.SessionAffinity{CookieName: "canary"}
			},
			want: "sessionAffinity applies to weighted canaries",
		},
		"one cookie for the canary and the primary": {
			mutate: func(c *v1beta1.Canary) {
				c.Spec.Analysis.SessionAffinity = &v1beta1.SessionAffinity{CookieName: "canary", PrimaryCookieName: "canary"}
			},
			want: "sessionAffinity.primaryCookieName must differ from cookieName",
		},
		"a cookie name that is no token": {
			mutate: func(c *v1beta1.Canary) { c.Spec.Analysis.SessionAffinity = &v1beta1.SessionAffinity{CookieName: "a=b"} },
			want:   "spec.analysis.sessionAffinity.cookieName: Invalid value",
		},
		"a cookie path that would add an attribute": {
			mutate: func(c *v1beta1.Canary) {
				c.Spec.Analysis.SessionAffinity = &v1beta1.SessionAffinity{CookieName: "canary", Path: "/; Domain=evil.example"}
			},
			want: "spec.analysis.sessionAffinity.path: Invalid value",
		},
		"a cookie domain that would add an attribute": {
			mutate: func(c *v1beta1.Canary) {
				c.Spec.Analysis.SessionAffinity = &v1beta1.SessionAffinity{CookieName: "canary", Domain: "a.io; Secure"}
			},
			want: "spec.analysis.sessionAffinity.domain: Invalid value",
		},
		"a rewrite with nothing to rewrite": {
			mutate: func(c *v1beta1.Canary) { c.Spec.Service.Rewrite = &v1beta1.HTTPRewrite{} },
			want:   "rewrite needs uri, authority or both",
		},
		"a rewrite type without uri": {
			mutate: func(c *v1beta1.Canary) {
				c.Spec.Service.Rewrite = &v1beta1.HTTPRewrite{Authority: "a.io", Type: "ReplacePrefixMatch"}
			},
			want: "rewrite.type says how uri replaces the path: set uri",
		},
		"a rewrite type Gateway API does not have": {
			mutate: func(c *v1beta1.Canary) { c.Spec.Service.Rewrite = &v1beta1.HTTPRewrite{URI: "/", Type: "RegexRewrite"} },
			want:   `spec.service.rewrite.type: Unsupported value: "RegexRewrite"`,
		},
		"a backend timeout longer than the request timeout": {
			mutate: func(c *v1beta1.Canary) { c.Spec.Service.Timeout, c.Spec.Service.BackendTimeout = "5s", "1m" },
			want:   "service.backendTimeout must not exceed service.timeout",
		},
		"a backend timeout that is no duration": {
			mutate: func(c *v1beta1.Canary) { c.Spec.Service.BackendTimeout = "soon" },
			want:   "spec.service.backendTimeout: Invalid value",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := weightedCanary()
			tc.mutate(c)
			errs, err := crd.ValidateObject("v1beta1", c)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(errs.ToAggregate().Error(), tc.want) {
				t.Errorf("admission errors %v; want one containing %q", errs, tc.want)
			}
		})
	}
	if errs, err := crd.ValidateObject("v1beta1", weightedCanary()); err != nil || len(errs) > 0 {
		t.Errorf("the valid canary is refused: %v %v", errs, err)
	}
}

// weightedCanary is a valid gatewayapi:v1 canary with stepWeight.
func weightedCanary() *v1beta1.Canary {
	return &v1beta1.Canary{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "Canary"},
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Namespace: "test"},
		Spec: v1beta1.CanarySpec{
			Provider:  "gatewayapi:v1",
			TargetRef: v1beta1.TargetReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "podinfo"},
			Service:   v1beta1.CanaryService{Port: 9898},
			Analysis:  &v1beta1.CanaryAnalysis{Interval: "1m", Threshold: 5, StepWeight: 10},
		},
	}
}

func blueGreen(c *v1beta1.Canary) {
	c.Spec.Analysis.StepWeight, c.Spec.Analysis.Iterations = 0, 5
}
