package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/slack-go/slack"

	"github.com/serin-dev/serin/internal/egress"
)

// Defaults of Sender.
const (
	DefaultRetries      = 3
	DefaultFirstBackoff = 500 * time.Millisecond
	maxBackoff          = 10 * time.Second
	// replyLimit bounds what is read of a receiver's reply: chat webhooks
	// answer "ok" or a short JSON document.
	replyLimit = 64 << 10
)

// Sender posts messages to targets. Every connection goes through Policy
// (the operator's egress guard); redirects are never followed; a target's
// token goes to its own address only. The zero value is usable.
type Sender struct {
	Policy *egress.Policy
	// Retries of a failed post (DefaultRetries when 0): transport errors,
	// 408, 429 and 5xx replies are retried with exponential backoff from
	// FirstBackoff, within the caller's deadline.
	Retries      int
	FirstBackoff time.Duration
}

// StatusError is a receiver's reply other than 2xx.
type StatusError struct{ Code int }

func (e *StatusError) Error() string {
	return fmt.Sprintf("the receiver answered %d %s", e.Code, http.StatusText(e.Code))
}

// Send posts m to t in t's format, retrying what may succeed later. The
// error never quotes the address, which is itself a credential.
func (s *Sender) Send(ctx context.Context, t Target, m Message) error {
	c, err := s.client(ctx, t)
	if err != nil {
		return egress.WithoutURL(err)
	}
	return egress.WithoutURL(postTo(ctx, c, t, m))
}

// retryPolicy retries what may succeed later: transport errors other than
// the egress guard's refusal, and 408, 429 and 5xx replies.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	var denied *egress.DeniedError
	switch {
	case ctx.Err() != nil:
		return false, ctx.Err()
	case errors.As(err, &denied):
		return false, err
	case err != nil:
		return true, nil
	}
	code := resp.StatusCode
	return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout, nil
}

// postTo sends one attempt in the target's format: Slack's webhook message
// (also Discord's Slack endpoint and Rocket.Chat's), a Teams MessageCard or
// a Google Chat card.
func postTo(ctx context.Context, c *http.Client, t Target, m Message) error {
	switch t.Type {
	case TypeSlack:
		return slackError(slack.PostWebhookCustomHTTPContext(ctx, t.Address, c, slackMessage(t, m, "good", "danger")))
	case TypeDiscord:
		return slackError(slack.PostWebhookCustomHTTPContext(ctx, t.Address, c, slackMessage(t, m, "good", "danger")))
	case TypeRocket:
		return slackError(slack.PostWebhookCustomHTTPContext(ctx, t.Address, c, slackMessage(t, m, "#0076D7", "#FF0000")))
	case TypeMSTeams:
		return postJSON(ctx, c, t.Address, teamsMessage(m))
	case TypeGChat:
		return postJSON(ctx, c, t.Address, gchatPayload(m))
	}
	return fmt.Errorf("alert provider type %q is not one of slack, msteams, discord, rocket, gchat", t.Type)
}

// slackError turns slack-go's reply errors into StatusErrors, so that
// every format retries the same replies.
func slackError(err error) error {
	var status slack.StatusCodeError
	var limited *slack.RateLimitedError
	switch {
	case errors.As(err, &status):
		return &StatusError{Code: status.Code}
	case errors.As(err, &limited):
		return &StatusError{Code: http.StatusTooManyRequests}
	}
	return err
}

func postJSON(ctx context.Context, c *http.Client, address string, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, address, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{Code: resp.StatusCode}
	}
	return nil
}

// client builds the HTTP client of one target: the guarded transport, the
// target's proxy (whose address the guard checks when dialling; the
// destination, which the proxy dials, is checked here first), replies
// capped, the token on every request (to the target's address only: no
// redirect is followed).
func (s *Sender) client(ctx context.Context, t Target) (*http.Client, error) {
	tr := s.Policy.Transport()
	if t.Proxy != "" {
		proxy, err := url.Parse(t.Proxy)
		if err != nil || (proxy.Scheme != "http" && proxy.Scheme != "https") || proxy.Host == "" {
			return nil, fmt.Errorf("alert provider %s: proxy is not an absolute http or https URL", t.Provider)
		}
		if err := s.checkDestination(ctx, t.Address); err != nil {
			return nil, err
		}
		tr.Proxy = http.ProxyURL(proxy)
	}
	var rt http.RoundTripper = egress.CapReplies(tr, replyLimit)
	if t.Token != "" {
		rt = bearer{next: rt, token: t.Token}
	}
	first := s.FirstBackoff
	if first <= 0 {
		first = DefaultFirstBackoff
	}
	retries := s.Retries
	if retries <= 0 {
		retries = DefaultRetries
	}
	retrying := &retryablehttp.Client{
		HTTPClient:   s.Policy.NewClient(rt),
		RetryWaitMin: first,
		RetryWaitMax: maxBackoff,
		RetryMax:     retries,
		CheckRetry:   retryPolicy,
		Backoff:      ignoreRetryAfter,
		// The last reply or error as is, for StatusError.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return &http.Client{Transport: &retryablehttp.RoundTripper{Client: retrying}, CheckRedirect: egress.RefuseRedirects}, nil
}

// checkDestination applies the policy to the addresses a proxied target's
// host resolves to: the dialer only sees the proxy's.
func (s *Sender) checkDestination(ctx context.Context, address string) error {
	u, err := url.Parse(address)
	if err != nil {
		return err
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
	if a, perr := netip.ParseAddr(u.Hostname()); perr == nil {
		addrs, err = []netip.Addr{a}, nil
	}
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if err := s.Policy.Check(a); err != nil {
			return err
		}
	}
	return nil
}

// ignoreRetryAfter doubles the wait from lo up to hi whatever a reply's
// Retry-After asks, so that a receiver cannot hold a delivery worker.
func ignoreRetryAfter(lo, hi time.Duration, attempt int, _ *http.Response) time.Duration {
	return retryablehttp.DefaultBackoff(lo, hi, attempt, nil)
}

// bearer adds the target's token, as Flagger does (RFC 6750).
type bearer struct {
	next  http.RoundTripper
	token string
}

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(req)
}
