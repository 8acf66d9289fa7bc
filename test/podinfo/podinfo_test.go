package podinfo

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestImageTag(t *testing.T) {
	tests := map[string]struct {
		image, want string
	}{
		"a tagged image gives its tag":        {"stefanprodan/podinfo:3.1.1", "3.1.1"},
		"an untagged image is latest":         {"stefanprodan/podinfo", "latest"},
		"a registry port is not a tag":        {"localhost:5000/podinfo", "latest"},
		"a registry port and a tag":           {"localhost:5000/podinfo:3.0.2", "3.0.2"},
		"a digest is reported as the version": {"podinfo@sha256:abc", "sha256:abc"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ImageTag(tc.image); got != tc.want {
				t.Errorf("ImageTag(%q) = %q, want %q", tc.image, got, tc.want)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	h := (&Server{Version: "dev"}).Handler()
	tests := map[string]struct {
		// path requested, with the emulator's headers when image is set.
		path, pod, image string
		// wantCode and wantField: the status and one field of the JSON.
		wantCode             int
		wantField, wantValue string
	}{
		"/ answers as the pod the emulator names": {path: "/", pod: "podinfo-7f8b5-x2x4z", image: "stefanprodan/podinfo:3.1.1", wantCode: 200, wantField: "hostname", wantValue: "podinfo-7f8b5-x2x4z"},
		"/version reports the pod's image tag":    {path: "/version", pod: "p", image: "stefanprodan/podinfo:3.0.2", wantCode: 200, wantField: "version", wantValue: "3.0.2"},
		"/version without headers is the flag's":  {path: "/version", wantCode: 200, wantField: "version", wantValue: "dev"},
		"/status/500 answers 500":                 {path: "/status/500", wantCode: 500},
		"/status of a non-code is a bad request":  {path: "/status/abc", wantCode: 400},
		"/delay/0 answers at once":                {path: "/delay/0", wantCode: 200},
		"/delay beyond the bound is refused":      {path: "/delay/3600", wantCode: 400},
		"/healthz is OK":                          {path: "/healthz", wantCode: 200, wantField: "status", wantValue: "OK"},
		"an unknown path is not found":            {path: "/nothing", wantCode: 404},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.image != "" {
				req.Header.Set(PodHeader, tc.pod)
				req.Header.Set(ImageHeader, tc.image)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.wantCode, rec.Body)
			}
			if tc.wantField == "" {
				return
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body[tc.wantField] != tc.wantValue {
				t.Errorf("%s = %v, want %q", tc.wantField, body[tc.wantField], tc.wantValue)
			}
		})
	}
}
