package emulator

import (
	"net/http/httptest"
	"testing"

	"k8s.io/utils/ptr"
)

func TestMatch(t *testing.T) {
	tests := map[string]struct {
		// m is the route's match; path and header the request's.
		m           match
		path        string
		header      map[string]string
		wantMatched bool
	}{
		"an empty match takes everything":         {m: match{}, path: "/anything", wantMatched: true},
		"a prefix takes the paths below it":       {m: match{prefix: "/api"}, path: "/api/v1", wantMatched: true},
		"a prefix leaves other paths":             {m: match{prefix: "/api"}, path: "/status/500"},
		"an exact path takes only itself":         {m: match{exact: "/version"}, path: "/version/x"},
		"a method must match":                     {m: match{method: "POST"}, path: "/"},
		"an exact header matches its value":       {m: match{headers: []headerMatch{{name: "x-canary", exact: ptr.To("insider")}}}, path: "/", header: map[string]string{"X-Canary": "insider"}, wantMatched: true},
		"an exact header rejects other values":    {m: match{headers: []headerMatch{{name: "x-canary", exact: ptr.To("insider")}}}, path: "/", header: map[string]string{"X-Canary": "outsider"}},
		"a missing header does not match":         {m: match{headers: []headerMatch{{name: "x-canary", exact: ptr.To("insider")}}}, path: "/"},
		"a regex is anchored":                     {m: match{headers: []headerMatch{{name: "user-agent", regex: ptr.To("Firefox")}}}, path: "/", header: map[string]string{"User-Agent": "Mozilla Firefox/1"}},
		"a regex may match the whole value":       {m: match{headers: []headerMatch{{name: "user-agent", regex: ptr.To(".*Firefox.*")}}}, path: "/", header: map[string]string{"User-Agent": "Mozilla Firefox/1"}, wantMatched: true},
		"an inverted header match negates it":     {m: match{headers: []headerMatch{{name: "x-canary", exact: ptr.To("insider"), invert: true}}}, path: "/", wantMatched: true},
		"a header without a value needs presence": {m: match{headers: []headerMatch{{name: "x-canary"}}}, path: "/", header: map[string]string{"X-Canary": ""}, wantMatched: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.path, nil)
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			if got := tc.m.matchesRequest(r); got != tc.wantMatched {
				t.Errorf("matched %v, want %v", got, tc.wantMatched)
			}
		})
	}
}

func TestNormalizeHost(t *testing.T) {
	for in, want := range map[string]string{
		"podinfo.test":                        "podinfo.test",
		"podinfo.test:9898":                   "podinfo.test",
		"Podinfo-Canary.Test:9898":            "podinfo-canary.test",
		"podinfo.test.svc.cluster.local:9898": "podinfo.test",
		"podinfo.test.svc":                    "podinfo.test",
	} {
		if got := normalizeHost(in); got != want {
			t.Errorf("normalizeHost(%q) = %q, want %q", in, got, want)
		}
	}
}
