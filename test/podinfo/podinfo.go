// Package podinfo is a small podinfo-like HTTP backend for the mesh
// emulator. Pods in the local cluster are fake, so the emulator sends every
// request to one real process of this backend and names, in headers, the
// pod the request was attributed to and that pod's image; the backend then
// answers as that pod would: its hostname, the version of its image, and
// the error and latency endpoints the seed's fault injection uses. It
// measures its requests per pod on /metrics, as each pod's own metrics.
package podinfo

import (
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Headers the mesh emulator sets on every request it forwards.
const (
	// PodHeader names the pod the request was attributed to.
	PodHeader = "X-Emulator-Pod"
	// NamespaceHeader is that pod's namespace.
	NamespaceHeader = "X-Emulator-Namespace"
	// ImageHeader is that pod's container image, e.g.
	// stefanprodan/podinfo:3.1.1.
	ImageHeader = "X-Emulator-Image"
)

// maxDelay bounds /delay so a typo cannot hold a connection for hours.
const maxDelay = 5 * time.Minute

// Server answers podinfo's endpoints.
type Server struct {
	// Version is reported when a request carries no ImageHeader.
	Version string
}

// Handler serves /, /version, /headers, /status/{code}, /delay/{seconds},
// /healthz and /metrics. Each Handler has its own metrics; the requests to
// the first five routes are measured (see requestMetrics), not those to
// /healthz and /metrics, which are the harness's, nor unknown paths.
func (s *Server) Handler() http.Handler {
	m := newRequestMetrics()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", m.instrument("/", s.info))
	mux.HandleFunc("GET /version", m.instrument("/version", s.version))
	mux.HandleFunc("GET /headers", m.instrument("/headers", headers))
	mux.HandleFunc("/status/{code}", m.instrument("/status/{code}", status))
	mux.HandleFunc("/delay/{seconds}", m.instrument("/delay/{seconds}", delay))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "OK"})
	})
	mux.Handle("GET /metrics", m.handler())
	return mux
}

// info is podinfo's greeting: who answered, and which version.
func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	v := s.versionOf(r)
	writeJSON(w, http.StatusOK, map[string]string{
		"hostname": hostnameOf(r),
		"version":  v,
		"message":  "greetings from podinfo v" + v,
		"goos":     runtime.GOOS,
		"goarch":   runtime.GOARCH,
		"runtime":  runtime.Version(),
	})
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": s.versionOf(r), "hostname": hostnameOf(r)})
}

// headers answers with the request's headers, as podinfo's /headers does,
// and the Host it was sent to (X-Forwarded-Host-less backends see it only
// there), so a test sees what a route's filters changed.
func headers(w http.ResponseWriter, r *http.Request) {
	out := map[string][]string{"Host": {r.Host}}
	for k, v := range r.Header {
		if k != PodHeader && k != ImageHeader && k != NamespaceHeader {
			out[k] = v
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// status answers with the code in the path, as podinfo's fault endpoint.
func status(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.PathValue("code"))
	if err != nil || code < 200 || code > 599 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "status code must be a number from 200 to 599"})
		return
	}
	writeJSON(w, code, map[string]int{"status": code})
}

// delay answers after the number of seconds in the path, or earlier if the
// client goes away.
func delay(w http.ResponseWriter, r *http.Request) {
	secs, err := strconv.ParseFloat(r.PathValue("seconds"), 64)
	d := time.Duration(secs * float64(time.Second))
	if err != nil || d < 0 || d > maxDelay {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "delay must be a number of seconds from 0 to 300"})
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	writeJSON(w, http.StatusOK, map[string]float64{"delay": secs})
}

func (s *Server) versionOf(r *http.Request) string {
	if img := r.Header.Get(ImageHeader); img != "" {
		return ImageTag(img)
	}
	return s.Version
}

func hostnameOf(r *http.Request) string {
	if pod := r.Header.Get(PodHeader); pod != "" {
		return pod
	}
	h, _ := os.Hostname()
	return h
}

// ImageTag returns the tag of an image reference: "3.1.1" for
// stefanprodan/podinfo:3.1.1, "latest" when there is none. A registry port
// (localhost:5000/podinfo) is not a tag, and a digest is returned as is.
func ImageTag(image string) string {
	if _, digest, ok := strings.Cut(image, "@"); ok {
		return digest
	}
	name := image[strings.LastIndex(image, "/")+1:]
	if _, tag, ok := strings.Cut(name, ":"); ok {
		return tag
	}
	return "latest"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
