package metrics

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/configdata"
)

// A Prometheus behind a certificate the operator does not trust is
// refused, unless the template sets insecureSkipVerify, with or without
// credentials.
func TestInsecureSkipVerifyAcceptsAnUntrustedCertificate(t *testing.T) {
	cases := map[string]struct {
		insecure    bool   // provider.insecureSkipVerify
		secret      bool   // the template names a Secret with a token
		wantMessage string // a part of the failure message; empty when the query passes
	}{
		"verified, refused": {
			wantMessage: "Halt podinfo.test advancement errors query failed: TLS certificate not trusted"},
		"verified with credentials, refused": {
			secret: true, wantMessage: "Halt podinfo.test advancement errors query failed: TLS certificate not trusted"},
		"insecureSkipVerify, passes":                  {insecure: true},
		"insecureSkipVerify with credentials, passes": {insecure: true, secret: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			prom := &headerPrometheus{}
			srv := httptest.NewTLSServer(prom)
			t.Cleanup(srv.Close)
			tmpl := newTemplate("errors", srv.URL, "sum(errors)")
			tmpl.Spec.Provider.InsecureSkipVerify = tc.insecure
			objs := []client.Object{tmpl}
			if tc.secret {
				tmpl.Spec.Provider.SecretRef = &corev1.LocalObjectReference{Name: "prom-auth"}
				objs = append(objs, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "prom-auth", Namespace: "test"},
					Data: map[string][]byte{"token": []byte("abc.def")}})
			}
			cache := newReader(t, objs...)
			checker := &Checker{Reader: cache, Secrets: &configdata.Reader{Metadata: cache, API: cache}}
			canary := newCanary("podinfo", withMetrics(flaggerv1.CanaryMetric{
				Name: "errors", TemplateRef: &flaggerv1.CrossNamespaceObjectReference{Name: "errors"}}))

			got := checker.Check(context.Background(), canary, "appmesh")[0]

			if tc.wantMessage != "" {
				if got.Err == nil || !strings.Contains(got.Message, tc.wantMessage) || len(prom.received()) > 0 {
					t.Errorf("result = %s; want a failure containing %q and no query served", showResult(got), tc.wantMessage)
				}
				return
			}
			if !got.Passed || len(prom.received()) != 1 {
				t.Errorf("result = %s after %d queries; want one query, passed", showResult(got), len(prom.received()))
			}
		})
	}
}
