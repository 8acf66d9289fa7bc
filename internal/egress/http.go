package egress

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// WithoutURL drops the URL from a transport error: webhook URLs, such as
// chat incoming-webhook addresses, often carry secrets.
func WithoutURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("%s: %w", strings.ToUpper(uerr.Op), uerr.Err)
	}
	return err
}

// RefuseRedirects is an http.Client CheckRedirect function that stops at
// the first reply: the 3xx reply is returned to the caller as is. A tenant
// could otherwise point a webhook at a server that redirects the operator,
// with its request and any credentials, somewhere the tenant could not
// name directly.
func RefuseRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// NewClient returns a client that obeys the policy and never follows a
// redirect. rt replaces the policy's transport when not nil (to add
// credentials or TLS settings on top of it).
func (p *Policy) NewClient(rt http.RoundTripper) *http.Client {
	if rt == nil {
		rt = p.Transport()
	}
	return &http.Client{Transport: rt, CheckRedirect: RefuseRedirects}
}

// ReplyTooLargeError says that a reply was longer than the limit the
// caller reads.
type ReplyTooLargeError struct{ Limit int64 }

func (e *ReplyTooLargeError) Error() string {
	return fmt.Sprintf("reply is larger than %s", sizeText(e.Limit))
}

// IsReplyTooLarge tells whether err is, or wraps, a ReplyTooLargeError.
func IsReplyTooLarge(err error) bool {
	var e *ReplyTooLargeError
	return errors.As(err, &e)
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// CapReplies wraps rt so that reading more than limit bytes of a reply body
// fails with a *ReplyTooLargeError instead of filling the operator's memory.
func CapReplies(rt http.RoundTripper, limit int64) http.RoundTripper {
	return capped{next: rt, limit: limit}
}

type capped struct {
	next  http.RoundTripper
	limit int64
}

func (c capped) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > c.limit {
		_ = resp.Body.Close()
		return nil, &ReplyTooLargeError{Limit: c.limit}
	}
	resp.Body = &cappedBody{ReadCloser: resp.Body, limit: c.limit}
	return resp, nil
}

// cappedBody fails the read that goes past the limit. It asks for one
// byte beyond it, so that a reply of exactly the limit is not an error.
type cappedBody struct {
	io.ReadCloser
	limit, read int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.read > b.limit {
		return 0, &ReplyTooLargeError{Limit: b.limit}
	}
	if room := b.limit + 1 - b.read; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if b.read > b.limit {
		// The byte past the limit is not handed out.
		return n - 1, &ReplyTooLargeError{Limit: b.limit}
	}
	return n, err
}

// SummaryLength is the most characters of a reply Summary keeps.
const SummaryLength = 120

// Summary returns what may be shown to a tenant of a reply: for a text/plain
// reply, its first SummaryLength characters on one line, with control,
// format (e.g. bidirectional overrides) and other unprintable characters
// replaced by spaces and runs of spaces collapsed; "…" marks a cut. Other
// replies (JSON, HTML, …) are summarised by their content type only: a
// structured reply from an internal service is exactly what a server-side
// request forgery wants to read back.
func Summary(contentType string, body []byte) string {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "text/plain" {
		if mediaType == "" {
			mediaType = "unknown"
		}
		if len(body) == 0 {
			return ""
		}
		return fmt.Sprintf("(%s reply not shown)", Sanitize(mediaType, 40))
	}
	return Sanitize(string(body), SummaryLength)
}

// Sanitize makes s a single printable line of at most n characters, as
// Summary does for plain text.
func Sanitize(s string, n int) string {
	words := strings.FieldsFunc(s, func(r rune) bool {
		return r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) || unicode.Is(unicode.Cf, r)
	})
	line := strings.Join(words, " ")
	if utf8.RuneCountInString(line) <= n {
		return line
	}
	return strings.TrimRight(string([]rune(line)[:n]), " ") + "…"
}
