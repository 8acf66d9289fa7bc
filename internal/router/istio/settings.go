package istio

import (
	"fmt"
	"regexp"
	"sort"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	networking "istio.io/api/networking/v1alpha3"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/router"
)

// settings are the canary's route settings in Istio's types. Every route
// of the VirtualService carries the same ones.
type settings struct {
	// matches are spec.service.match; none matches every request.
	matches []*networking.HTTPMatchRequest
	// abMatches are analysis.match: the A/B test's requests.
	abMatches     []*networking.HTTPMatchRequest
	rewrite       *networking.HTTPRewrite
	timeout       *durationpb.Duration
	retries       *networking.HTTPRetry
	cors          *networking.CorsPolicy
	headers       *networking.Headers
	trafficPolicy *networking.TrafficPolicy
}

// newSettings converts the canary's fields; an error names the field that
// Istio cannot take.
func newSettings(c *flaggerv1.Canary) (settings, error) {
	svc := c.Spec.Service
	var s settings
	var err error
	if s.matches, err = matches("spec.service.match", svc.Match); err != nil {
		return s, err
	}
	if a := c.GetAnalysis(); a != nil {
		if s.abMatches, err = matches("spec.analysis.match", a.Match); err != nil {
			return s, err
		}
	}
	if svc.Timeout != "" {
		if s.timeout, err = duration("spec.service.timeout", svc.Timeout); err != nil {
			return s, err
		}
	}
	if s.retries, err = retries(svc.Retries); err != nil {
		return s, err
	}
	s.rewrite = rewrite(svc.Rewrite)
	if svc.CorsPolicy != nil {
		s.cors = &networking.CorsPolicy{}
		if err := router.DecodeIstio("spec.service.corsPolicy", svc.CorsPolicy, s.cors); err != nil {
			return s, err
		}
	}
	if svc.Headers != nil {
		s.headers = &networking.Headers{}
		if err := router.DecodeIstio("spec.service.headers", svc.Headers, s.headers); err != nil {
			return s, err
		}
	}
	if svc.TrafficPolicy != nil {
		s.trafficPolicy = &networking.TrafficPolicy{}
		if err := router.DecodeIstio("spec.service.trafficPolicy", svc.TrafficPolicy, s.trafficPolicy); err != nil {
			return s, err
		}
	}
	return s, nil
}

func duration(field, value string) (*durationpb.Duration, error) {
	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("%s %q is not a duration such as 15s or 500ms", field, value)
	}
	return durationpb.New(d), nil
}

func retries(r *flaggerv1.HTTPRetry) (*networking.HTTPRetry, error) {
	if r == nil {
		return nil, nil
	}
	out := &networking.HTTPRetry{Attempts: int32(r.Attempts), RetryOn: r.RetryOn}
	if r.PerTryTimeout != "" {
		d, err := duration("spec.service.retries.perTryTimeout", r.PerTryTimeout)
		if err != nil {
			return nil, err
		}
		out.PerTryTimeout = d
	}
	return out, nil
}

// rewrite converts spec.service.rewrite; its type is refused for istio
// by router.FieldRules.
func rewrite(r *flaggerv1.HTTPRewrite) *networking.HTTPRewrite {
	if r == nil {
		return nil
	}
	return &networking.HTTPRewrite{Uri: r.URI, Authority: r.Authority}
}

func matches(field string, in []flaggerv1.HTTPMatchRequest) ([]*networking.HTTPMatchRequest, error) {
	var out []*networking.HTTPMatchRequest
	for i, m := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		o := &networking.HTTPMatchRequest{SourceLabels: m.SourceLabels}
		var err error
		if m.URI != nil {
			if o.Uri, err = stringMatch(f+".uri", *m.URI); err != nil {
				return nil, err
			}
		}
		if m.Method != nil {
			if o.Method, err = stringMatch(f+".method", *m.Method); err != nil {
				return nil, err
			}
		}
		if o.Headers, err = stringMatches(f+".headers", m.Headers); err != nil {
			return nil, err
		}
		if o.QueryParams, err = stringMatches(f+".queryParams", m.QueryParams); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func stringMatches(field string, in map[string]flaggerv1.StringMatch) (map[string]*networking.StringMatch, error) {
	if len(in) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(in))
	for name := range in {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make(map[string]*networking.StringMatch, len(in))
	for _, name := range names {
		m, err := stringMatch(field+"."+name, in[name])
		if err != nil {
			return nil, err
		}
		out[name] = m
	}
	return out, nil
}

// stringMatch converts a match. Istio has no suffix match, so a suffix
// becomes the regular expression that means the same (Istio's regexes
// must match the whole value).
func stringMatch(field string, m flaggerv1.StringMatch) (*networking.StringMatch, error) {
	switch {
	case m.Exact != "":
		return &networking.StringMatch{MatchType: &networking.StringMatch_Exact{Exact: m.Exact}}, nil
	case m.Prefix != "":
		return &networking.StringMatch{MatchType: &networking.StringMatch_Prefix{Prefix: m.Prefix}}, nil
	case m.Suffix != "":
		return &networking.StringMatch{MatchType: &networking.StringMatch_Regex{Regex: ".*" + regexp.QuoteMeta(m.Suffix)}}, nil
	case m.Regex != "":
		return &networking.StringMatch{MatchType: &networking.StringMatch_Regex{Regex: m.Regex}}, nil
	}
	return nil, fmt.Errorf("%s sets none of exact, prefix, suffix or regex", field)
}
