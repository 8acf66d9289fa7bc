package alert

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// The keys of an AlertProvider's Secret, as Flagger names them: address
// replaces spec.address, token is sent to that address only, as a bearer
// token, and proxy replaces spec.proxy.
const (
	SecretKeyAddress = "address"
	SecretKeyToken   = "token"
	SecretKeyProxy   = "proxy"
)

// Flagger's defaults for the sender's name and the channel.
const (
	DefaultUsername = "flagger"
	DefaultChannel  = "general"
)

// Target is an AlertProvider with everything resolved: where to post, how,
// and with which credential.
type Target struct {
	// Provider names the AlertProvider (namespace/name), for events and
	// logs; never the address, which is itself a credential.
	Provider string
	Type     string
	Address  string
	Proxy    string
	Token    string
	Channel  string
	Username string
}

// ResolveError says why an AlertProvider cannot be used, in words for its
// owner.
type ResolveError struct {
	Provider, Reason string
}

func (e *ResolveError) Error() string {
	return fmt.Sprintf("alert provider %s: %s", e.Provider, e.Reason)
}

// SecretReader reads a Secret by name; the operator's is configdata.Reader
// (Secrets are watched metadata-only and read uncached).
type SecretReader interface {
	Secret(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error)
}

// Resolve reads p's Secret, if it names one, through secrets and returns
// the target.
func Resolve(ctx context.Context, secrets SecretReader, p *flaggerv1.AlertProvider) (Target, error) {
	t := Target{
		Provider: p.Namespace + "/" + p.Name, Type: p.Spec.Type, Address: p.Spec.Address, Proxy: p.Spec.Proxy,
		Channel: p.Spec.Channel, Username: p.Spec.Username,
	}
	if t.Username == "" {
		t.Username = DefaultUsername
	}
	if t.Channel == "" {
		t.Channel = DefaultChannel
	}
	if ref := p.Spec.SecretRef; ref != nil {
		if err := t.fromSecret(ctx, secrets, p.Namespace, ref.Name); err != nil {
			return Target{}, err
		}
	}
	if t.Type == TypeDiscord {
		t.Address = discordSlackEndpoint(t.Address)
	}
	return t, nil
}

func (t *Target) fromSecret(ctx context.Context, secrets SecretReader, namespace, name string) error {
	s, err := secrets.Secret(ctx, types.NamespacedName{Namespace: namespace, Name: name})
	if err != nil {
		return &ResolveError{Provider: t.Provider, Reason: fmt.Sprintf("spec.secretRef: cannot read Secret %s: %v", name, err)}
	}
	address := strings.TrimSpace(string(s.Data[SecretKeyAddress]))
	if address == "" {
		return &ResolveError{Provider: t.Provider, Reason: fmt.Sprintf("spec.secretRef: Secret %s has no key %q (the webhook URL)", name, SecretKeyAddress)}
	}
	if u, err := url.Parse(address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &ResolveError{Provider: t.Provider, Reason: fmt.Sprintf("spec.secretRef: key %q of Secret %s is not an absolute http or https URL", SecretKeyAddress, name)}
	}
	t.Address = address
	t.Token = strings.TrimSpace(string(s.Data[SecretKeyToken]))
	if proxy := strings.TrimSpace(string(s.Data[SecretKeyProxy])); proxy != "" {
		t.Proxy = proxy
	}
	return nil
}

// discordSlackEndpoint is the Slack-compatible endpoint of a Discord
// webhook, which takes the same message as Slack.
func discordSlackEndpoint(address string) string {
	u, err := url.Parse(address)
	if err != nil || strings.HasSuffix(u.Path, "/slack") {
		return address
	}
	u.Path = path.Join(u.Path, "slack")
	return u.String()
}
