package router

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"regexp"
	"strings"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// Header names of session affinity.
const (
	CookieHeader    = "Cookie"
	SetCookieHeader = "Set-Cookie"
	// defaultCookieMaxAge is a day, as in Flagger.
	defaultCookieMaxAge = 86400
)

// Affinity is a canary's session affinity (analysis.sessionAffinity) for
// the revision under analysis: while the canary has weight, the canary's
// responses set the canary cookie and requests that carry it go to the
// canary; with primaryCookieName, the primary's responses set the primary
// cookie, for one interval, and requests that carry it stay on the
// primary. At weight 0 the canary cookie of the last analysed revision is
// expired.
//
// Flagger keeps random cookie values in the status. Here they are derived
// from the canary's UID and the analysed revision, so every revision gets
// its own cookies and the routers keep no state.
type Affinity struct {
	spec *flaggerv1.SessionAffinity
	// Canary and Primary are the cookies as name=value; Primary is empty
	// without primaryCookieName.
	Canary, Primary string
	// interval is the primary cookie's lifetime, in seconds.
	interval int
}

// AffinityOf returns the canary's session affinity, nil without one.
func AffinityOf(c *flaggerv1.Canary) *Affinity {
	a := c.GetAnalysis()
	if a == nil || a.SessionAffinity == nil {
		return nil
	}
	s := a.SessionAffinity
	out := &Affinity{spec: s, Canary: s.CookieName + "=" + cookieValue(c, ""), interval: int(c.GetInterval().Seconds())}
	if s.PrimaryCookieName != "" {
		out.Primary = s.PrimaryCookieName + "=" + cookieValue(c, "/primary")
	}
	return out
}

// Started reports whether a revision was analysed yet: before that there
// is no cookie to expire.
func Started(c *flaggerv1.Canary) bool { return c.Status.LastAppliedSpec != "" }

// SetCanary is the Set-Cookie value of the canary's responses.
func (a *Affinity) SetCanary() string {
	maxAge := a.spec.MaxAge
	if maxAge == 0 {
		maxAge = defaultCookieMaxAge
	}
	return a.setCookie(a.Canary, maxAge)
}

// SetPrimary is the Set-Cookie value of the primary's responses, which
// keeps a user on the primary for one analysis interval.
func (a *Affinity) SetPrimary() string { return a.setCookie(a.Primary, a.interval) }

// ExpireCanary is the Set-Cookie value that deletes the canary cookie.
func (a *Affinity) ExpireCanary() string { return a.setCookie(a.Canary, -1) }

// setCookie writes cookie with the attributes of analysis.sessionAffinity,
// in Flagger's order. The CRD's patterns keep ';' and control characters
// out of the attributes, so no user value can add one.
func (a *Affinity) setCookie(cookie string, maxAge int) string {
	s := a.spec
	parts := []string{cookie, fmt.Sprintf("Max-Age=%d", maxAge)}
	if s.Domain != "" {
		parts = append(parts, "Domain="+s.Domain)
	}
	if s.HttpOnly {
		parts = append(parts, "HttpOnly")
	}
	if s.Partitioned {
		parts = append(parts, "Partitioned")
	}
	if s.Path != "" {
		parts = append(parts, "Path="+s.Path)
	}
	if s.SameSite != "" {
		parts = append(parts, "SameSite="+s.SameSite)
	}
	if s.Secure {
		parts = append(parts, "Secure")
	}
	return strings.Join(parts, "; ")
}

// CookieRegex matches a Cookie header that carries cookie (name=value)
// among others, as a whole-value regular expression (Envoy's and Istio's
// regex matches must match the whole header).
func CookieRegex(cookie string) string {
	return "(.*; ?)?" + regexp.QuoteMeta(cookie) + "(;.*)?"
}

// IsCookieRegex reports whether a header regex was written by CookieRegex
// for a cookie called name.
func IsCookieRegex(regex, name string) bool {
	return strings.HasPrefix(regex, "(.*; ?)?"+regexp.QuoteMeta(name+"="))
}

// cookieValue is the value of one of the canary's cookies for the
// revision under analysis; suffix tells the cookies apart.
func cookieValue(c *flaggerv1.Canary, suffix string) string {
	sum := sha256.Sum256([]byte(string(c.UID) + "/" + c.Status.LastAppliedSpec + suffix))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])[:16])
}
