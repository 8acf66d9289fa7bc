package loadtester

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TokenSource returns the bearer token that requests changing a gate must carry. It is asked on
// every such request, so a rotated token takes effect without a restart.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// FileToken reads the token from a file, e.g. a Secret mounted as a volume; surrounding white
// space is ignored.
type FileToken string

// Token implements TokenSource.
func (f FileToken) Token(context.Context) (string, error) {
	data, err := os.ReadFile(string(f))
	if err != nil {
		return "", fmt.Errorf("read gate token file: %w", err)
	}
	return nonEmpty(string(data), "gate token file "+string(f))
}

// SecretToken reads the token from the key "token" of a Secret, through the Kubernetes API.
type SecretToken struct {
	Client client.Reader
	Secret types.NamespacedName
}

// SecretTokenKey is the key of the Secret holding the token.
const SecretTokenKey = "token"

// Token implements TokenSource.
func (s SecretToken) Token(ctx context.Context) (string, error) {
	var secret corev1.Secret
	if err := s.Client.Get(ctx, s.Secret, &secret); err != nil {
		return "", fmt.Errorf("read gate token secret %s: %w", s.Secret, err)
	}
	return nonEmpty(string(secret.Data[SecretTokenKey]), fmt.Sprintf("key %s of secret %s", SecretTokenKey, s.Secret))
}

func nonEmpty(token, what string) (string, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return "", fmt.Errorf("%s is empty", what)
	}
	return token, nil
}

// withGateToken lets a request through to next only when it carries the configured bearer
// token; without a configured token every request goes through, as with Flagger's load tester.
// A token that cannot be read refuses every request: a broken configuration must not open the
// gates to anyone.
func (s *Server) withGateToken(next http.HandlerFunc) http.HandlerFunc {
	if s.cfg.GateToken == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		want, err := s.cfg.GateToken.Token(r.Context())
		if err != nil {
			s.log.Error("Gate token unavailable", "error", err.Error())
			s.refuse(w, r, refusal(http.StatusInternalServerError, "token_unavailable",
				"gates cannot be changed: the load tester cannot read its gate token"))
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="serin-loadtester"`)
			s.refuse(w, r, refusal(http.StatusUnauthorized, "unauthorized",
				"changing a gate needs the load tester's bearer token: send the header Authorization: Bearer <token>"))
			return
		}
		next(w, r)
	}
}
