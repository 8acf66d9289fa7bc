package egress

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// DefaultDenied are the networks no tenant-supplied address may reach
// unless the operator allows them: link-local addresses, where cloud
// providers serve instance metadata and credentials (169.254.169.254 on AWS,
// GCP, Azure and others; 169.254.170.2 for ECS task credentials), and the
// metadata addresses outside link-local (AWS's IPv6 fd00:ec2::254, Alibaba
// Cloud's 100.100.100.200).
var DefaultDenied = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fd00:ec2::254/128"),
	netip.MustParsePrefix("100.100.100.200/32"),
}

// nat64 is the well-known NAT64 prefix: its addresses carry an IPv4 address
// in their last 32 bits and reach that address through a NAT64 gateway.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Policy decides which IP addresses outbound calls may connect to: an
// address in a denied network is refused unless it is in an allowed one.
// The zero value and nil deny DefaultDenied.
type Policy struct {
	deny, allow []netip.Prefix
}

// NewPolicy denies DefaultDenied and deny, except the networks in allow.
func NewPolicy(deny, allow []netip.Prefix) *Policy {
	return &Policy{deny: append(append([]netip.Prefix{}, DefaultDenied...), deny...), allow: allow}
}

// ParsePrefixes reads a comma-separated list of CIDRs, e.g.
// "10.0.0.0/8,fd00::/8"; a bare address is a network of one.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%q is neither a CIDR such as 10.0.0.0/8 nor an IP address", s)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8: %w", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// DeniedError says that a connection was refused by the policy.
type DeniedError struct {
	// Addr is the address the dialer was about to connect to.
	Addr netip.Addr
	// Network is the denied network it is in.
	Network netip.Prefix
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("connection to %s refused: %s is a denied network (operator flags --egress-deny-cidrs, --egress-allow-cidrs)", e.Addr, e.Network)
}

// Check returns a *DeniedError when addr may not be connected to.
func (p *Policy) Check(addr netip.Addr) error {
	deny, allow := DefaultDenied, []netip.Prefix(nil)
	if p != nil && p.deny != nil {
		deny, allow = p.deny, p.allow
	}
	for _, a := range candidates(addr) {
		for _, d := range deny {
			if d.Contains(a) && !containedIn(a, allow) {
				return &DeniedError{Addr: addr, Network: d}
			}
		}
	}
	return nil
}

// candidates are the addresses a connection to addr really reaches: the
// address itself, its IPv4 form when it is IPv4-mapped or NAT64, and
// loopback for the unspecified address (connecting to 0.0.0.0 or :: reaches
// the local host).
func candidates(addr netip.Addr) []netip.Addr {
	addr = addr.WithZone("")
	out := []netip.Addr{addr}
	switch {
	case addr.Is4In6():
		out = append(out, addr.Unmap())
	case nat64.Contains(addr):
		b := addr.As16()
		out = append(out, netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	for _, a := range out {
		if a.IsUnspecified() {
			out = append(out, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback())
			break
		}
	}
	return out
}

func containedIn(a netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// control is a net.Dialer Control function: it runs after name resolution,
// just before each connection attempt, with the literal address.
func (p *Policy) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("connection to %q refused: not a host:port address", address)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("connection to %q refused: not an IP address", host)
	}
	return p.Check(addr)
}

// Dialer returns a dialer that refuses denied addresses; base supplies the
// timeouts (a default dialer when nil). Control functions of base run
// after the policy's check.
func (p *Policy) Dialer(base *net.Dialer) *net.Dialer {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if base != nil {
		copied := *base
		d = &copied
	}
	nextCtx, next := d.ControlContext, d.Control
	d.Control = nil
	d.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
		if err := p.control(network, address, c); err != nil {
			return err
		}
		switch {
		case nextCtx != nil:
			return nextCtx(ctx, network, address, c)
		case next != nil:
			return next(network, address, c)
		}
		return nil
	}
	return d
}

// DialContext is the policy's dial function, for transports built
// elsewhere.
func (p *Policy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return p.Dialer(nil).DialContext(ctx, network, address)
}

// Transport returns a transport whose connections obey the policy. It uses
// no proxy; the caller adds TLS settings.
func (p *Policy) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = p.Dialer(nil).DialContext
	return t
}

// String lists the denied networks and the allowed exceptions, for logs.
func (p *Policy) String() string {
	deny, allow := DefaultDenied, []netip.Prefix(nil)
	if p != nil && p.deny != nil {
		deny, allow = p.deny, p.allow
	}
	text := func(ps []netip.Prefix) string {
		out := make([]string, len(ps))
		for i, x := range ps {
			out[i] = x.String()
		}
		return strings.Join(out, ",")
	}
	if len(allow) == 0 {
		return "deny " + text(deny)
	}
	return "deny " + text(deny) + " except " + text(allow)
}
