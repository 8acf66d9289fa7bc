// Package dashboard is Serin's web dashboard: the list of canaries, each
// release's timeline, metric charts against thresholds, checks, webhooks,
// events and levers, updated live by server-sent events fed from watches.
//
// People sign in with a Kubernetes bearer token (a ServiceAccount token,
// or an OIDC token the API server accepts): the dashboard checks it with a
// TokenReview and asks a SubjectAccessReview before every read (get, list
// canaries; list events) and every lever (patch canaries), so each person
// sees and changes exactly what kubectl would let them. Tokens travel in
// the Authorization header only — never in a cookie — so no other site
// can make a browser pull a lever (no CSRF), and the lever endpoints
// also insist on a JSON content type that a cross-site form cannot send.
package dashboard

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

//go:embed static
var static embed.FS

// Options bound what one dashboard serves.
type Options struct {
	// MaxStreams is the number of live streams served at once.
	MaxStreams int
	// MaxStreamsPerUser bounds one person's live streams (browser tabs).
	MaxStreamsPerUser int
	// Heartbeat is how often an idle stream gets a comment line, and how
	// often its token and access are checked again.
	Heartbeat time.Duration
}

// Server serves the dashboard.
type Server struct {
	log    logr.Logger
	authn  authenticator.Request
	authz  authorizer.Authorizer
	reader client.Reader
	writer client.Client
	broker *Broker
	opts   Options

	mu      sync.Mutex
	streams map[string]int // by user name
	total   int
}

// NewServer returns a dashboard reading canaries and events from reader
// (an informer cache), writing lever annotations with writer, and told of
// changes by broker.
func NewServer(log logr.Logger, authn authenticator.Request, authz authorizer.Authorizer, reader client.Reader, writer client.Client, broker *Broker, opts Options) *Server {
	return &Server{log: log, authn: authn, authz: authz, reader: reader, writer: writer, broker: broker, opts: opts, streams: map[string]int{}}
}

// apiTimeout bounds a non-streaming API request.
const apiTimeout = 30 * time.Second

// Handler routes the dashboard's pages and API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	assets, _ := fs.Sub(static, "static") // the directory is embedded above
	mux.Handle("GET /", http.FileServerFS(assets))
	api := func(h http.HandlerFunc) http.Handler {
		return http.TimeoutHandler(noStore(h), apiTimeout, `{"error":"the request took too long"}`)
	}
	mux.Handle("GET /api/v1/whoami", api(s.whoami))
	mux.Handle("GET /api/v1/canaries", api(s.list))
	mux.Handle("GET /api/v1/namespaces/{namespace}/canaries/{name}", api(s.detail))
	mux.Handle("POST /api/v1/namespaces/{namespace}/canaries/{name}/{lever}", api(s.lever))
	mux.Handle("GET /api/v1/stream", noStore(http.HandlerFunc(s.stream)))
	return securityHeaders(mux)
}

// contentSecurityPolicy allows the page's own scripts, styles and API
// only: no inline script, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// noStore keeps API answers out of every cache: they depend on who asks.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with a message for people; details go to the log.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
