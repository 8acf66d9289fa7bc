package alert

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

func TestResolveReadsTheSecretAsFlaggerNamesItsKeys(t *testing.T) {
	secret := func(data map[string]string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: "team"}, Data: map[string][]byte{}}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		return s
	}
	tests := map[string]struct {
		spec    flaggerv1.AlertProviderSpec
		secret  *corev1.Secret
		want    Target
		wantErr string
	}{
		"address and defaults from the spec": {
			spec: flaggerv1.AlertProviderSpec{Type: TypeSlack, Address: "https://hooks.slack.com/services/x"},
			want: Target{Provider: "team/on-call", Type: TypeSlack, Address: "https://hooks.slack.com/services/x", Username: "flagger", Channel: "general"},
		},
		"the Secret's address, token and proxy replace the spec's": {
			spec:   flaggerv1.AlertProviderSpec{Type: TypeMSTeams, Address: "https://spec.example/", Proxy: "http://spec-proxy:3128", Username: "serin", SecretRef: &corev1.LocalObjectReference{Name: "hook"}},
			secret: secret(map[string]string{"address": "https://secret.example/hook", "token": "t0k", "proxy": "http://proxy:3128"}),
			want:   Target{Provider: "team/on-call", Type: TypeMSTeams, Address: "https://secret.example/hook", Token: "t0k", Proxy: "http://proxy:3128", Username: "serin", Channel: "general"},
		},
		"discord posts to its Slack endpoint": {
			spec: flaggerv1.AlertProviderSpec{Type: TypeDiscord, Address: "https://discord.com/api/webhooks/1/x"},
			want: Target{Provider: "team/on-call", Type: TypeDiscord, Address: "https://discord.com/api/webhooks/1/x/slack", Username: "flagger", Channel: "general"},
		},
		"a Secret without address": {
			spec:    flaggerv1.AlertProviderSpec{Type: TypeSlack, SecretRef: &corev1.LocalObjectReference{Name: "hook"}},
			secret:  secret(map[string]string{"token": "t0k"}),
			wantErr: `alert provider team/on-call: spec.secretRef: Secret hook has no key "address" (the webhook URL)`,
		},
		"a Secret whose address is no URL": {
			spec:    flaggerv1.AlertProviderSpec{Type: TypeSlack, SecretRef: &corev1.LocalObjectReference{Name: "hook"}},
			secret:  secret(map[string]string{"address": "hooks.slack.com/x"}),
			wantErr: `key "address" of Secret hook is not an absolute http or https URL`,
		},
		"a missing Secret": {
			spec:    flaggerv1.AlertProviderSpec{Type: TypeSlack, SecretRef: &corev1.LocalObjectReference{Name: "hook"}},
			wantErr: "spec.secretRef: cannot read Secret hook",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b := fake.NewClientBuilder().WithScheme(scheme.Scheme)
			if tc.secret != nil {
				b = b.WithObjects(tc.secret)
			}
			p := &flaggerv1.AlertProvider{ObjectMeta: metav1.ObjectMeta{Name: "on-call", Namespace: "team"}, Spec: tc.spec}
			got, err := Resolve(context.Background(), clientSecrets{b.Build()}, p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// clientSecrets reads Secrets through a client.
type clientSecrets struct{ client.Reader }

func (c clientSecrets) Secret(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	return s, c.Get(ctx, key, s)
}
