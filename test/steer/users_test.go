package steer

import (
	"context"
	"fmt"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/serin-dev/serin/test/framework"
)

// Verbs on canaries the test users get.
var (
	readCanaries  = []string{"get", "list", "watch"}
	steerCanaries = []string{"get", "list", "watch", "patch"}
)

// user is a ServiceAccount whose token the API server issued by a
// TokenRequest, as `kubectl create token` does.
type user struct {
	name  string // system:serviceaccount:<ns>:<sa>
	token string
}

// newUser creates ServiceAccount sa in ns, grants it verbs on canaries
// (and list on events) in each of namespaces, and returns its token.
func newUser(t *testing.T, ns, sa string, verbs []string, namespaces ...string) user {
	t.Helper()
	e := framework.Get()
	ctx := context.Background()
	if err := e.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa}}); err != nil {
		t.Fatal(err)
	}
	for _, where := range namespaces {
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: where, Name: ns + "-" + sa}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"flagger.app"}, Resources: []string{"canaries"}, Verbs: verbs},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"list"}},
		}}
		binding := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: where, Name: role.Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: sa}},
		}
		for _, o := range []client.Object{role, binding} {
			if err := e.Client.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	token, err := tokenFor(ctx, ns, sa)
	if err != nil {
		t.Fatal(err)
	}
	return user{name: "system:serviceaccount:" + ns + ":" + sa, token: token}
}

// tokenFor asks the API server for a token of ServiceAccount sa.
func tokenFor(ctx context.Context, ns, sa string) (string, error) {
	cs, err := kubernetes.NewForConfig(framework.Get().Cluster.Config)
	if err != nil {
		return "", err
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for %s/%s: %w", ns, sa, err)
	}
	return tr.Status.Token, nil
}

// restConfig connects to the test cluster with token.
func restConfig(token string) *rest.Config {
	c := rest.AnonymousClientConfig(framework.Get().Cluster.Config)
	c.BearerToken = token
	return c
}

// writeKubeconfig writes a kubeconfig for token with namespace ns as the
// context's default, and returns its path.
func writeKubeconfig(t *testing.T, token, ns string) string {
	t.Helper()
	c := framework.Get().Cluster.Config
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthorityData: c.CAData, CertificateAuthority: c.CAFile}
	cfg.AuthInfos["user"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "user", Namespace: ns}
	cfg.CurrentContext = "local"
	path := t.TempDir() + "/kubeconfig"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
