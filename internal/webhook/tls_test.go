package webhook

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/egress"
)

// A webhook behind a certificate the operator does not trust is refused,
// unless it sets disableTLS; one client calls both kinds, each with its
// own transport, and disableTLS leaves the egress policy in force.
func TestDisableTLSSkipsTheCertificateCheckOfThatWebhookOnly(t *testing.T) {
	h := &hookServer{}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	canary := newCanary(
		flaggerv1.CanaryWebhook{Name: "verified", URL: srv.URL},
		flaggerv1.CanaryWebhook{Name: "self-signed", URL: srv.URL, DisableTLS: true},
		flaggerv1.CanaryWebhook{Name: "verified-again", URL: srv.URL},
	)

	got := (&Client{}).Run(context.Background(), canary, flaggerv1.RolloutHook, "")

	const untrusted = "TLS certificate not trusted"
	if len(got) != 3 {
		t.Fatalf("results = %+v, want three", got)
	}
	for _, r := range []Result{got[0], got[2]} {
		if r.Err == nil || !strings.Contains(r.Err.Error(), "call webhook "+r.Name+": "+untrusted) {
			t.Errorf("webhook %s: error %v, want one saying %q", r.Name, r.Err, untrusted)
		}
	}
	if got[1].Err != nil || got[1].StatusCode != 200 {
		t.Errorf("webhook self-signed: %+v, want a success", got[1])
	}
	if h.calls() != 1 {
		t.Errorf("the server got %d calls, want the one of self-signed", h.calls())
	}

	deny, _ := egress.ParsePrefixes("127.0.0.0/8,::1/128")
	denied := newCanary(flaggerv1.CanaryWebhook{Name: "self-signed", URL: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), DisableTLS: true})
	got = (&Client{Egress: egress.NewPolicy(deny, nil)}).Run(context.Background(), denied, flaggerv1.RolloutHook, "")
	if len(got) != 1 || got[0].Err == nil || !strings.Contains(got[0].Err.Error(), "refused by the operator's egress policy") {
		t.Errorf("results = %+v, want a refusal by the egress policy", got)
	}
}
