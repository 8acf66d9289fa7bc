package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	ctrl "sigs.k8s.io/controller-runtime"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

const (
	// Waits between retries: 100ms, doubling up to 1s.
	retryWaitMin = 100 * time.Millisecond
	retryWaitMax = time.Second
	// bodyLimit is how much of a failed reply is quoted in the error.
	bodyLimit = 256
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
	// 202 or lower. Otherwise it says why, quoting the start of the reply.
	Err error
}

// Client calls webhooks.
type Client struct {
	// HTTP is the client the calls are made with; a default one when nil.
	// Its Timeout is replaced by each webhook's timeout.
	HTTP *http.Client
	// EventURL receives every event, in addition to the canary's event
	// webhooks (the operator's --event-webhook flag); none when empty.
	EventURL string
	// Now stamps events; time.Now when nil.
	Now func() time.Time
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

// Event tells the canary's event webhooks and EventURL about an event.
// Failures are logged, never returned: events are informational.
func (c *Client) Event(ctx context.Context, canary *flaggerv1.Canary, eventType, message string) {
	payload := newEventPayload(canary, eventType, message, c.now())
	hooks := []flaggerv1.CanaryWebhook{}
	if analysis := canary.GetAnalysis(); analysis != nil {
		for _, w := range analysis.Webhooks {
			if w.Type == flaggerv1.EventHook {
				hooks = append(hooks, w)
			}
		}
	}
	if c.EventURL != "" {
		hooks = append(hooks, flaggerv1.CanaryWebhook{Name: eventURLName, Type: flaggerv1.EventHook, URL: c.EventURL})
	}
	log := ctrl.LoggerFrom(ctx)
	for _, w := range hooks {
		if r := c.call(ctx, w, payload); r.Err != nil {
			log.Error(r.Err, "Event webhook failed", "webhook", w.Name, "eventType", eventType)
		}
	}
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
		r.Err = fmt.Errorf("request to webhook %s: %w", w.Name, withoutURL(err))
		return r
	}
	req.Header.Set("Content-Type", "application/json")

	resp, err := c.retryingClient(ctx, w.Name, timeout, w.Retries).Do(req)
	if err != nil {
		r.Err = fmt.Errorf("call webhook %s: %w", w.Name, withoutURL(err))
		return r
	}
	defer func() { _ = resp.Body.Close() }()
	r.StatusCode = resp.StatusCode
	if resp.StatusCode > http.StatusAccepted {
		start, _ := io.ReadAll(io.LimitReader(resp.Body, bodyLimit))
		r.Err = fmt.Errorf("webhook %s replied %s: %s", w.Name, resp.Status, bytes.TrimSpace(start))
	}
	// Drain a little so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	return r
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

// retryingClient returns a client for the webhook name that gives each
// attempt timeout and retries transport errors and 5xx replies up to
// retries times.
func (c *Client) retryingClient(ctx context.Context, name string, timeout time.Duration, retries int) *retryablehttp.Client {
	hc := &http.Client{}
	if c.HTTP != nil {
		copied := *c.HTTP
		hc = &copied
	}
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
		RetryMax:     retries,
		CheckRetry:   retryPolicy,
		Backoff:      backoff,
		// Hand back the last reply or error as is, so the caller can quote
		// the reply's body.
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

// withoutURL drops the URL from a transport error: webhook URLs, such as
// chat incoming-webhook addresses, often carry secrets.
func withoutURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("%s: %w", strings.ToUpper(uerr.Op), uerr.Err)
	}
	return err
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
