package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/apis/apiserver"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/client-go/kubernetes"
)

// AuthOptions configure how the dashboard checks people.
type AuthOptions struct {
	// AllowAnonymous serves requests without a token as system:anonymous;
	// every read and lever is still authorized by RBAC for that user.
	AllowAnonymous bool
	// CacheTTL is how long a TokenReview or SubjectAccessReview answer is
	// reused; a revoked token or role stops working within it.
	CacheTTL time.Duration
}

// reviewBackoff retries a TokenReview or SubjectAccessReview that failed
// to reach the API server, as kube-apiserver's delegated authentication
// does.
var reviewBackoff = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}

// NewAuth builds the authenticator (TokenReview of the bearer token, so
// service-account and OIDC tokens work as they do with the API server)
// and the authorizer (SubjectAccessReview) from Kubernetes' own delegated
// authentication and authorization.
func NewAuth(cs kubernetes.Interface, opts AuthOptions) (authenticator.Request, authorizer.Authorizer, error) {
	authn, _, err := authenticatorfactory.DelegatingAuthenticatorConfig{
		Anonymous:                &apiserver.AnonymousAuthConfig{Enabled: opts.AllowAnonymous},
		CacheTTL:                 opts.CacheTTL,
		TokenAccessReviewClient:  cs.AuthenticationV1(),
		TokenAccessReviewTimeout: 10 * time.Second,
		WebhookRetryBackoff:      &reviewBackoff,
	}.New()
	if err != nil {
		return nil, nil, fmt.Errorf("build the token authenticator: %w", err)
	}
	authz, err := authorizerfactory.DelegatingAuthorizerConfig{
		SubjectAccessReviewClient: cs.AuthorizationV1(),
		AllowCacheTTL:             opts.CacheTTL,
		DenyCacheTTL:              opts.CacheTTL,
		WebhookRetryBackoff:       &reviewBackoff,
	}.New()
	if err != nil {
		return nil, nil, fmt.Errorf("build the access-review authorizer: %w", err)
	}
	return authn, authz, nil
}

// access is one question for the authorizer: may the user do verb on
// resource (of group) in namespace (all when empty), on name if set.
type access struct {
	verb, group, resource, namespace, name string
}

// canaryGroup is the API group of canaries.
const canaryGroup = "flagger.app"

func canaries(verb, namespace, name string) access {
	return access{verb: verb, group: canaryGroup, resource: "canaries", namespace: namespace, name: name}
}

func events(namespace string) access {
	return access{verb: "list", resource: "events", namespace: namespace}
}

// allowed asks the authorizer; an error counts as a denial and is logged.
func (s *Server) allowed(ctx context.Context, u user.Info, a access) bool {
	d, _, err := s.authz.Authorize(ctx, authorizer.AttributesRecord{
		User: u, Verb: a.verb, APIGroup: a.group, APIVersion: "*", Resource: a.resource,
		Namespace: a.namespace, Name: a.name, ResourceRequest: true,
	})
	if err != nil {
		s.log.Error(err, "Authorization failed", "user", u.GetName(), "verb", a.verb, "resource", a.resource, "namespace", a.namespace)
		return false
	}
	return d == authorizer.DecisionAllow
}

// caller is an authenticated request's user and the token it came with,
// kept to authenticate a long-lived stream again.
type caller struct {
	user  user.Info
	token string
}

// authenticate checks a request's bearer token. It writes 401 and returns
// false when the request carries none (and anonymous access is off) or
// one the API server does not accept.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (caller, bool) {
	token := bearerToken(r)
	res, ok, err := s.authn.AuthenticateRequest(r)
	if err != nil || !ok {
		if err != nil {
			s.log.V(1).Info("Authentication failed", "error", err.Error())
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="serin-dashboard"`)
		writeError(w, http.StatusUnauthorized, "a valid Kubernetes bearer token is required (Authorization: Bearer <token>)")
		return caller{}, false
	}
	return caller{user: res.User, token: token}, true
}

// stillValid authenticates a stream's token again (answers are cached
// for AuthOptions.CacheTTL), so a stream ends when its token does.
func (s *Server) stillValid(c caller) bool {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	if c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, ok, err := s.authn.AuthenticateRequest(r)
	return err == nil && ok && res.User.GetName() == c.user.GetName()
}

func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
