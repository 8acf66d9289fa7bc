package webhook

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	ctrl "sigs.k8s.io/controller-runtime"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/egress"
)

const (
	// Waits between retries: 100ms, doubling up to 1s.
	retryWaitMin = 100 * time.Millisecond
	retryWaitMax = time.Second
	// replyLimit is how much of a reply is read: a failed reply's start
	// for its summary, a successful one to reuse the connection. A longer
	// reply is not read on; its connection is closed.
	replyLimit = 4 << 10
	// eventURLName names the operator-wide event webhook in logs.
	eventURLName = "event-webhook"
)

// Result is the outcome of one webhook call.
type Result struct {
	// Name of the webhook.
	Name string
	// Type of the webhook; rollout when the spec leaves it empty.
	Type flaggerv1.HookType
	// StatusCode of the last reply; 0 when none came.
	StatusCode int
	// Err is nil when the webhook succeeded: it replied with a status of
	// 202 or lower. Otherwise it says why in words fit for the canary's
	// status and events: the reply's status and at most a short summary of
	// a plain-text reply, or the kind of transport failure. The details go
	// to the operator's log.
	Err error
}

// Client calls webhooks. Webhook URLs are written by tenants, so calls go
// through egress: denied networks are refused, redirects are not
// followed, and only a bounded start of a reply is read.
type Client struct {
	// Egress is the networks calls may reach; egress.DefaultDenied is
	// refused when nil.
	Egress *egress.Policy
	// EventURL receives every event, in addition to the canary's event
	// webhooks (the operator's --event-webhook flag); none when empty.
	EventURL string

	once sync.Once
	// transport verifies TLS certificates; insecure is for webhooks with
	// disableTLS. Both are shared, so connections are reused across calls.
	transport, insecure http.RoundTripper
}

// Run calls the canary's webhooks of type t, in spec order, and returns
// one Result each. A webhook without a type is a rollout webhook.
func (c *Client) Run(ctx context.Context, canary *flaggerv1.Canary, t flaggerv1.HookType, checksum string) []Result {
	analysis := canary.GetAnalysis()
	if analysis == nil {
		return nil
	}
	var results []Result
	for _, w := range analysis.Webhooks {
		if hookType(w) != t {
			continue
		}
		results = append(results, c.call(ctx, w, newPayload(canary, w, checksum)))
	}
	return results
}

// hookType returns the type of a webhook; rollout when unset.
func hookType(w flaggerv1.CanaryWebhook) flaggerv1.HookType {
	if w.Type == "" {
		return flaggerv1.RolloutHook
	}
	return w.Type
}

// call POSTs payload to the webhook, retrying as it asks.
func (c *Client) call(ctx context.Context, w flaggerv1.CanaryWebhook, payload any) Result {
	r := Result{Name: w.Name, Type: hookType(w)}
	timeout, err := timeoutOf(w)
	if err != nil {
		r.Err = fmt.Errorf("webhook %s: %w", w.Name, err)
		return r
	}
	body, err := json.Marshal(payload)
	if err != nil {
		r.Err = fmt.Errorf("encode payload of webhook %s: %w", w.Name, err)
		return r
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, w.URL, body)
	if err != nil {
		r.Err = fmt.Errorf("request to webhook %s: %w", w.Name, egress.WithoutURL(err))
		return r
	}
	req.Header.Set("Content-Type", "application/json")

	log := ctrl.LoggerFrom(ctx).WithValues("webhook", w.Name, "type", r.Type)
	resp, err := c.retryingClient(ctx, w, timeout).Do(req)
	if err != nil {
		log.Info("Webhook call failed", "error", egress.WithoutURL(err).Error())
		r.Err = fmt.Errorf("call webhook %s: %s", w.Name, egress.Describe(err, timeout))
		return r
	}
	defer func() { _ = resp.Body.Close() }()
	r.StatusCode = resp.StatusCode
	// Read a bounded start, to quote a failure and to let a short reply's
	// connection be reused.
	start, _ := io.ReadAll(io.LimitReader(resp.Body, replyLimit))
	if resp.StatusCode > http.StatusAccepted {
		log.Info("Webhook replied with a failure", "status", resp.StatusCode, "reply", string(start))
		r.Err = replyError(w.Name, resp, start)
	}
	return r
}

// replyError describes a failed reply for the canary's status: its status
// and a short summary of a plain-text body. A redirect is named as such and
// its target is not quoted.
func replyError(name string, resp *http.Response, start []byte) error {
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return fmt.Errorf("webhook %s replied %s: redirects are not followed", name, resp.Status)
	}
	summary := egress.Summary(resp.Header.Get("Content-Type"), start)
	if summary == "" {
		return fmt.Errorf("webhook %s replied %s", name, resp.Status)
	}
	return fmt.Errorf("webhook %s replied %s: %s", name, resp.Status, summary)
}

// timeoutOf returns the timeout of one attempt to call the webhook.
func timeoutOf(w flaggerv1.CanaryWebhook) (time.Duration, error) {
	if w.Timeout == "" {
		return flaggerv1.DefaultWebhookTimeout, nil
	}
	d, err := time.ParseDuration(w.Timeout)
	if err != nil {
		return 0, fmt.Errorf("parse timeout %q: %w", w.Timeout, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("timeout %q must be positive", w.Timeout)
	}
	return d, nil
}

// retryingClient returns a client for the webhook w that gives each
// attempt timeout and retries transport errors and 5xx replies up to
// w.Retries times; it skips TLS verification when w.DisableTLS.
func (c *Client) retryingClient(ctx context.Context, w flaggerv1.CanaryWebhook, timeout time.Duration) *retryablehttp.Client {
	c.once.Do(func() {
		secure := c.Egress.Transport()
		skip := secure.Clone()
		skip.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it with disableTLS
		c.transport, c.insecure = secure, skip
	})
	rt, name := c.transport, w.Name
	if w.DisableTLS {
		rt = c.insecure
	}
	hc := c.Egress.NewClient(rt)
	hc.Timeout = timeout
	return &retryablehttp.Client{
		HTTPClient: hc,
		// No Logger: it would log webhook URLs, which may hold secrets.
		RequestLogHook: func(_ retryablehttp.Logger, _ *http.Request, attempt int) {
			if attempt > 0 {
				ctrl.LoggerFrom(ctx).V(1).Info("Retrying webhook", "webhook", name, "attempt", attempt)
			}
		},
		RetryWaitMin: retryWaitMin,
		RetryWaitMax: retryWaitMax,
		RetryMax:     w.Retries,
		CheckRetry:   retryPolicy,
		Backoff:      backoff,
		// Hand back the last reply or error as is, so the caller can
		// describe the reply.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
}

// retryPolicy retries transport errors and 5xx replies, unless the
// caller's context is done.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return true, nil
	}
	return resp.StatusCode >= http.StatusInternalServerError, nil
}

// backoff doubles the wait from min up to max, ignoring Retry-After so a
// webhook cannot stall the analysis.
func backoff(lo, hi time.Duration, attempt int, _ *http.Response) time.Duration {
	return retryablehttp.DefaultBackoff(lo, hi, attempt, nil)
}
