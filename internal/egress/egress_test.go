package egress

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func prefixes(t *testing.T, list string) []netip.Prefix {
	t.Helper()
	p, err := ParsePrefixes(list)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicyDecidesByTheAddressReallyReached(t *testing.T) {
	cases := map[string]struct {
		deny, allow string // operator flags
		addr        string // the address dialled
		denied      bool   // whether the connection is refused
	}{
		"cloud metadata is denied by default":               {addr: "169.254.169.254", denied: true},
		"ECS task credentials are denied by default":        {addr: "169.254.170.2", denied: true},
		"IPv6 link-local is denied by default":              {addr: "fe80::1%eth0", denied: true},
		"AWS IPv6 metadata is denied by default":            {addr: "fd00:ec2::254", denied: true},
		"Alibaba Cloud metadata is denied by default":       {addr: "100.100.100.200", denied: true},
		"an IPv4-mapped metadata address is denied":         {addr: "::ffff:169.254.169.254", denied: true},
		"a NAT64 metadata address is denied":                {addr: "64:ff9b::a9fe:a9fe", denied: true},
		"loopback is allowed by default":                    {addr: "127.0.0.1"},
		"IPv6 loopback is allowed by default":               {addr: "::1"},
		"cluster addresses are allowed by default":          {addr: "10.96.0.10"},
		"a denied network is refused":                       {deny: "10.0.0.0/8", addr: "10.96.0.10", denied: true},
		"a denied single address is refused":                {deny: "192.0.2.7", addr: "192.0.2.7", denied: true},
		"an allowed exception wins over the deny list":      {allow: "169.254.170.2/32", addr: "169.254.170.2"},
		"an exception does not open the rest of the range":  {allow: "169.254.170.2/32", addr: "169.254.169.254", denied: true},
		"the unspecified address counts as loopback":        {deny: "127.0.0.0/8", addr: "0.0.0.0", denied: true},
		"the IPv6 unspecified address counts as loopback":   {deny: "::1/128", addr: "::", denied: true},
		"an address outside every denied network is fine":   {deny: "10.0.0.0/8", addr: "192.168.1.1"},
		"denying IPv4 ranges also covers mapped addresses":  {deny: "10.0.0.0/8", addr: "::ffff:10.0.0.1", denied: true},
		"allowing all of link-local turns the default off":  {allow: "169.254.0.0/16", addr: "169.254.169.254"},
		"a deny list of everything refuses public addrs":    {deny: "0.0.0.0/0,::/0", addr: "8.8.8.8", denied: true},
		"a deny list of everything keeps allowed addresses": {deny: "0.0.0.0/0,::/0", allow: "10.1.0.0/16", addr: "10.1.2.3"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := NewPolicy(prefixes(t, tc.deny), prefixes(t, tc.allow))
			err := p.Check(netip.MustParseAddr(tc.addr))
			var denied *DeniedError
			if got := errors.As(err, &denied); got != tc.denied {
				t.Fatalf("Check(%s) = %v, want denied %v", tc.addr, err, tc.denied)
			}
		})
	}
}

func TestNilPolicyDeniesTheDefaults(t *testing.T) {
	var p *Policy
	if err := p.Check(netip.MustParseAddr("169.254.169.254")); err == nil {
		t.Error("a nil policy allowed the metadata address")
	}
	if err := p.Check(netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Errorf("a nil policy refused loopback: %v", err)
	}
}

func TestParsePrefixesNamesTheBadEntry(t *testing.T) {
	cases := map[string]struct {
		list    string // the flag value
		wantErr string // part of the error; empty when valid
		want    int    // number of networks when valid
	}{
		"an empty list":                  {list: ""},
		"CIDRs and addresses":            {list: "10.0.0.0/8, 192.0.2.1 ,fd00::/8", want: 3},
		"a host name is refused":         {list: "10.0.0.0/8,metadata.google.internal", wantErr: `"metadata.google.internal" is neither a CIDR`},
		"a bad prefix length":            {list: "10.0.0.0/33", wantErr: `"10.0.0.0/33" is not a CIDR`},
		"an unmasked CIDR is normalised": {list: "10.1.2.3/8", want: 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParsePrefixes(tc.list)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != tc.want {
				t.Fatalf("ParsePrefixes(%q) = %v, %v; want %d networks", tc.list, got, err, tc.want)
			}
		})
	}
}

// countingServer counts the requests it receives.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestTransportRefusesNamesThatResolveToDeniedAddresses(t *testing.T) {
	srv, hits := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {})
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p := NewPolicy(prefixes(t, "127.0.0.0/8,::1/128"), nil)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		resp, err := p.NewClient(nil).Get("http://" + net.JoinHostPort(host, port) + "/")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET via %s reached the denied server", host)
		}
		var denied *DeniedError
		if !errors.As(err, &denied) {
			t.Errorf("GET via %s: %v, want a DeniedError", host, err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the denied server got %d requests", hits.Load())
	}
	resp, err := NewPolicy(nil, nil).NewClient(nil).Get(srv.URL)
	if err != nil {
		t.Fatalf("the default policy refused loopback: %v", err)
	}
	resp.Body.Close()
}

func TestDialContextObeysThePolicy(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {})
	p := NewPolicy(prefixes(t, "127.0.0.0/8"), nil)
	conn, err := p.DialContext(context.Background(), "tcp", srv.Listener.Addr().String())
	if err == nil {
		conn.Close()
		t.Fatal("DialContext connected to a denied address")
	}
}

func TestClientsNeverFollowRedirects(t *testing.T) {
	target, targetHits := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {})
	redirector, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/steal", http.StatusFound)
	})
	resp, err := NewPolicy(nil, nil).NewClient(nil).Post(redirector.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("status %d, want the redirect itself (302)", resp.StatusCode)
	}
	if targetHits.Load() != 0 {
		t.Errorf("the redirect target got %d requests", targetHits.Load())
	}
}

func TestCapRepliesFailsPastTheLimit(t *testing.T) {
	cases := map[string]struct {
		size    int  // reply length
		chunked bool // no Content-Length
		tooBig  bool // whether reading fails
	}{
		"a reply of exactly the limit":          {size: 1024},
		"a reply one byte over the limit":       {size: 1025, tooBig: true},
		"a chunked reply over the limit":        {size: 5000, chunked: true, tooBig: true},
		"a chunked reply under the limit":       {size: 10, chunked: true},
		"a declared length over the limit":      {size: 1 << 20, tooBig: true},
		"an empty reply":                        {size: 0},
		"a chunked reply of exactly the limit":  {size: 1024, chunked: true},
		"a chunked reply far over the limit":    {size: 5 << 20, chunked: true, tooBig: true},
		"a declared length just over the limit": {size: 1100, tooBig: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv, _ := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
				if tc.chunked {
					w.Header().Set("Transfer-Encoding", "chunked")
				} else {
					w.Header().Set("Content-Length", strconv.Itoa(tc.size))
				}
				_, _ = w.Write([]byte(strings.Repeat("x", tc.size)))
			})
			client := &http.Client{Transport: CapReplies(NewPolicy(nil, nil).Transport(), 1024)}
			resp, err := client.Get(srv.URL)
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if got := IsReplyTooLarge(err); got != tc.tooBig {
				t.Fatalf("error %v, want too large %v", err, tc.tooBig)
			}
			if !tc.tooBig && len(body) != tc.size {
				t.Errorf("read %d bytes, want %d", len(body), tc.size)
			}
			if len(body) > 1024 {
				t.Errorf("read %d bytes past a limit of 1024", len(body))
			}
		})
	}
}

func TestSummaryShowsOnlyAShortPrintableLineOfText(t *testing.T) {
	cases := map[string]struct {
		contentType string // the reply's Content-Type
		body        string // the reply
		want        string // the summary
	}{
		"plain text":                       {contentType: "text/plain; charset=utf-8", body: "gate closed for podinfo.test\n", want: "gate closed for podinfo.test"},
		"newlines and tabs become spaces":  {contentType: "text/plain", body: "command failed:\n\texit status 1\n", want: "command failed: exit status 1"},
		"terminal escapes are dropped":     {contentType: "text/plain", body: "\x1b[31mred\x1b[0m", want: "[31mred [0m"},
		"bidirectional overrides go":       {contentType: "text/plain", body: "abc\u202edef", want: "abc def"},
		"invalid UTF-8 is dropped":         {contentType: "text/plain", body: "ok\xff\xfedone", want: "ok done"},
		"JSON is not shown":                {contentType: "application/json", body: `{"token":"s3cr3t"}`, want: "(application/json reply not shown)"},
		"HTML is not shown":                {contentType: "text/html; charset=utf-8", body: "<html>secret</html>", want: "(text/html reply not shown)"},
		"a missing content type hides it":  {body: "AKIA...", want: "(unknown reply not shown)"},
		"an empty reply is empty":          {contentType: "application/json", want: ""},
		"a long reply is cut with a mark":  {contentType: "text/plain", body: strings.Repeat("a", 500), want: strings.Repeat("a", SummaryLength) + "…"},
		"a garbage content type is hidden": {contentType: "\x00;;", body: "x", want: "(unknown reply not shown)"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := Summary(tc.contentType, []byte(tc.body)); got != tc.want {
				t.Errorf("Summary = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDescribeNamesTheFailureWithoutAddresses(t *testing.T) {
	denied := NewPolicy(nil, nil).Check(netip.MustParseAddr("169.254.169.254"))
	cases := map[string]struct {
		err  error  // the failure
		want string // its description
	}{
		"a denied address":         {err: &url.Error{Op: "Post", URL: "http://metadata/", Err: denied}, want: "refused by the operator's egress policy: the address is in a denied network"},
		"a reply too large":        {err: &ReplyTooLargeError{Limit: 4 << 20}, want: "reply is larger than 4 MiB"},
		"a deadline":               {err: context.DeadlineExceeded, want: "no reply within the timeout of 10s"},
		"a cancelled call":         {err: context.Canceled, want: "cancelled"},
		"an unknown host":          {err: &net.DNSError{Name: "podinfo.internal", Err: "no such host", IsNotFound: true}, want: "host not found"},
		"a refused connection":     {err: &net.OpError{Op: "dial", Addr: &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 80}, Err: syscall.ECONNREFUSED}, want: "connection refused"},
		"an untrusted certificate": {err: &tls.CertificateVerificationError{Err: errors.New("x509: unknown authority")}, want: "TLS certificate not trusted"},
		"a scheme":                 {err: errors.New(`Post "gopher://x": unsupported protocol scheme "gopher"`), want: "the URL scheme must be http or https"},
		"anything else":            {err: errors.New("dial tcp 10.0.0.5:80: connect: no route to host"), want: "could not connect"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := Describe(tc.err, 10*time.Second); got != tc.want {
				t.Errorf("Describe = %q, want %q", got, tc.want)
			}
		})
	}
}
