package egress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"
)

// Describe names the kind of a failed call in words that may be shown to
// the tenant who wrote the address: no resolved addresses, ports or
// internal error texts, which would turn the operator into a scanner of
// the networks it can reach. timeout is the call's timeout, quoted when it
// expired. The full error belongs in the operator's log.
func Describe(err error, timeout time.Duration) string {
	var denied *DeniedError
	var tooLarge *ReplyTooLargeError
	var dnsErr *net.DNSError
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &denied):
		return "refused by the operator's egress policy: the address is in a denied network"
	case errors.As(err, &tooLarge):
		return tooLarge.Error()
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("no reply within the timeout of %s", timeout)
	case errors.As(err, &dnsErr):
		return "host not found"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &certErr):
		return "TLS certificate not trusted"
	case strings.Contains(err.Error(), "unsupported protocol scheme"):
		return "the URL scheme must be http or https"
	}
	return "could not connect"
}
