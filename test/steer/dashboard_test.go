package steer

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/dashboard"
	"github.com/serin-dev/serin/test/framework"
)

// dashboardNamespace holds the dashboard's ServiceAccount.
const dashboardNamespace = "serin-dashboard"

// startDashboard serves the dashboard once for the package, as the
// ServiceAccount bound to the generated config/dashboard/role.yaml, so the
// test fails if that role lacks what the dashboard does. It returns the
// dashboard's base URL.
var startDashboard = sync.OnceValues(func() (string, error) {
	e := framework.Get()
	ctx := context.Background()
	data, err := os.ReadFile(filepath.Join(e.Root, "config", "dashboard", "role.yaml"))
	if err != nil {
		return "", err
	}
	objs, err := framework.DecodeObjects(data)
	if err != nil {
		return "", err
	}
	role := &rbacv1.ClusterRole{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(objs[0].Object, role); err != nil {
		return "", err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: dashboardNamespace, Name: "serin-dashboard"}},
	}
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: dashboardNamespace}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: dashboardNamespace, Name: "serin-dashboard"}},
		role, binding,
	} {
		if err := e.Client.Create(ctx, o); err != nil {
			return "", err
		}
	}
	token, err := tokenFor(ctx, dashboardNamespace, "serin-dashboard")
	if err != nil {
		return "", err
	}
	logFile, err := os.Create(filepath.Join(e.Artifacts, "dashboard.log"))
	if err != nil {
		return "", err
	}
	ready, failed := make(chan string, 1), make(chan error, 1)
	cfg := dashboard.Config{
		Addr:   "127.0.0.1:0",
		Auth:   dashboard.AuthOptions{CacheTTL: time.Second},
		Server: dashboard.Options{MaxStreams: 50, MaxStreamsPerUser: 8, Heartbeat: 2 * time.Second},
		Ready:  func(addr string) { ready <- addr },
	}
	go func() { failed <- dashboard.Run(ctx, zap.New(zap.WriteTo(logFile)), restConfig(token), cfg) }()
	select {
	case addr := <-ready:
		return "http://" + addr, nil
	case err := <-failed:
		return "", err
	case <-time.After(time.Minute):
		return "", context.DeadlineExceeded
	}
})

func dashboardURL(t *testing.T) string {
	t.Helper()
	u, err := startDashboard()
	if err != nil {
		t.Fatalf("start the dashboard: %v", err)
	}
	return u
}

// call makes a dashboard API request with token (none when empty) and
// decodes a JSON answer into out when given.
func call(t *testing.T, method, path, token, contentType, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, dashboardURL(t)+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

type listBody struct {
	Items []struct{ Namespace, Name string } `json:"items"`
}

// Without a token, or with one the API server does not know, every API
// request and stream is refused with 401; the page itself holds no data.
func TestDashboardAnswersRequestsWithoutAValidToken401(t *testing.T) {
	t.Parallel()
	ns := framework.Get().Namespace(t)
	haltedRelease(t, ns)
	for _, token := range []string{"", "not-a-token"} {
		for _, path := range []string{"/api/v1/whoami", "/api/v1/canaries", "/api/v1/namespaces/" + ns + "/canaries/podinfo", "/api/v1/stream"} {
			if code := call(t, http.MethodGet, path, token, "", "", nil); code != http.StatusUnauthorized {
				t.Errorf("GET %s with token %q: %d, want 401", path, token, code)
			}
		}
		if code := call(t, http.MethodPost, "/api/v1/namespaces/"+ns+"/canaries/podinfo/abort", token, "application/json", "{}", nil); code != http.StatusUnauthorized {
			t.Errorf("abort with token %q: %d, want 401", token, code)
		}
	}
	if code := call(t, http.MethodGet, "/", "", "", "", nil); code != http.StatusOK {
		t.Errorf("GET / without a token: %d, want 200 (the sign-in page)", code)
	}
}

// A user whose RBAC covers one namespace sees only that namespace's
// canaries, in the list, the detail and the stream.
func TestDashboardShowsAUserOnlyTheCanariesRBACLetsThemSee(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	mine, theirs := e.Namespace(t), e.Namespace(t)
	haltedRelease(t, mine)
	haltedRelease(t, theirs)
	viewer := newUser(t, mine, "viewer", readCanaries, mine)
	var me struct{ User string }
	if code := call(t, http.MethodGet, "/api/v1/whoami", viewer.token, "", "", &me); code != http.StatusOK || me.User != viewer.name {
		t.Fatalf("whoami: %d %q, want 200 %q", code, me.User, viewer.name)
	}
	var list listBody
	if code := call(t, http.MethodGet, "/api/v1/canaries", viewer.token, "", "", &list); code != http.StatusOK {
		t.Fatalf("list: %d", code)
	}
	for _, c := range list.Items {
		if c.Namespace != mine {
			t.Errorf("the list shows %s/%s to a user who may only see %s", c.Namespace, c.Name, mine)
		}
	}
	if len(list.Items) != 1 {
		t.Errorf("the list has %d canaries, want the one in %s", len(list.Items), mine)
	}
	if code := call(t, http.MethodGet, "/api/v1/namespaces/"+theirs+"/canaries/podinfo", viewer.token, "", "", nil); code != http.StatusForbidden {
		t.Errorf("detail of another namespace's canary: %d, want 403", code)
	}
	if code := call(t, http.MethodGet, "/api/v1/stream?namespace="+theirs+"&name=podinfo", viewer.token, "", "", nil); code != http.StatusForbidden {
		t.Errorf("stream of another namespace's canary: %d, want 403", code)
	}
	events := openStream(t, "/api/v1/stream", viewer.token)
	first := <-events
	var streamed listBody
	if err := json.Unmarshal([]byte(first.data), &streamed); err != nil || first.name != "list" || len(streamed.Items) != 1 || streamed.Items[0].Namespace != mine {
		t.Errorf("the list stream opened with %s %s (%v), want the canary of %s only", first.name, first.data, err, mine)
	}
}

// Levers are refused without patch on canaries (403, nothing written) and
// written as serin-dashboard:<user> with it.
func TestDashboardLeversNeedPatchOnTheCanary(t *testing.T) {
	t.Parallel()
	ns, viewer, steerer := haltedScene(t)
	path := "/api/v1/namespaces/" + ns + "/canaries/podinfo"
	var d struct{ CanPatch bool }
	if call(t, http.MethodGet, path, viewer.token, "", "", &d); d.CanPatch {
		t.Error("the detail offers the levers to a user without patch")
	}
	if call(t, http.MethodGet, path, steerer.token, "", "", &d); !d.CanPatch {
		t.Error("the detail does not offer the levers to a user with patch")
	}
	if code := call(t, http.MethodPost, path+"/abort", viewer.token, "application/json", "{}", nil); code != http.StatusForbidden {
		t.Errorf("abort without patch: %d, want 403", code)
	}
	c := &flaggerv1.Canary{}
	framework.MustGet(t, ns, "podinfo", c)
	if _, ok := c.Annotations[flaggerv1.AbortAnnotation]; ok {
		t.Fatal("a refused abort was written")
	}
	var res struct{ ID, Annotation string }
	if code := call(t, http.MethodPost, path+"/abort", steerer.token, "application/json", "{}", &res); code != http.StatusAccepted {
		t.Fatalf("abort with patch: %d, want 202", code)
	}
	framework.MustGet(t, ns, "podinfo", c)
	if got := c.Annotations[flaggerv1.AbortAnnotation]; got == "" || got != res.ID {
		t.Errorf("%s = %q, want the request id %q", flaggerv1.AbortAnnotation, got, res.ID)
	}
	if got, want := annotationManager(c, flaggerv1.AbortAnnotation), "serin-dashboard:"+steerer.name; got != want {
		t.Errorf("the abort annotation's manager is %q, want %q", got, want)
	}
}

// A lever request must be JSON (a cross-site form cannot send it) and
// small.
func TestDashboardRefusesLeverRequestsThatAreNotSmallJSON(t *testing.T) {
	t.Parallel()
	ns, _, steerer := haltedScene(t)
	path := "/api/v1/namespaces/" + ns + "/canaries/podinfo/pause"
	for name, tc := range map[string]struct {
		contentType, body string
		want              int
	}{
		"a form post":        {"application/x-www-form-urlencoded", "a=b", http.StatusUnsupportedMediaType},
		"a body over 1 KiB":  {"application/json", `{"x":"` + strings.Repeat("a", 2048) + `"}`, http.StatusRequestEntityTooLarge},
		"an unknown lever":   {"application/json", "{}", http.StatusNotFound},
		"a small JSON pause": {"application/json", "{}", http.StatusAccepted},
	} {
		p := path
		if name == "an unknown lever" {
			p = strings.TrimSuffix(path, "pause") + "delete"
		}
		if code := call(t, http.MethodPost, p, steerer.token, tc.contentType, tc.body, nil); code != tc.want {
			t.Errorf("%s: %d, want %d", name, code, tc.want)
		}
	}
}

// The detail stream sends the release again when the watch reports a
// change of the canary's status.
func TestDashboardStreamSendsTheReleaseAgainWhenItsStatusChanges(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns, viewer, _ := haltedScene(t)
	c := &flaggerv1.Canary{}
	events := openStream(t, "/api/v1/stream?namespace="+ns+"&name=podinfo", viewer.token)
	if first := <-events; first.name != "detail" || !strings.Contains(first.data, `"weight":10`) {
		t.Fatalf("the stream opened with %s %.200s, want the release at weight 10", first.name, first.data)
	}
	framework.MustGet(t, ns, "podinfo", c)
	c.Status.CanaryWeight = 15
	if err := e.Client.Status().Update(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev.name != "detail" || !strings.Contains(ev.data, `"weight":15`) {
			t.Errorf("after the change the stream sent %s %.200s, want the release at weight 15", ev.name, ev.data)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stream sent nothing within 30s of the change")
	}
}

// sse is one server-sent event.
type sse struct{ name, data string }

// openStream reads a dashboard stream until the test ends.
func openStream(t *testing.T, path, token string) <-chan sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, dashboardURL(t)+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	out := make(chan sse, 16)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data += line[6:]
			case line == "" && ev.data != "":
				out <- ev
				ev = sse{}
			}
		}
	}()
	return out
}

// annotationManager is the field manager that set annotation key.
func annotationManager(c *flaggerv1.Canary, key string) string {
	for _, f := range c.ManagedFields {
		if f.FieldsV1 != nil && strings.Contains(string(f.FieldsV1.Raw), `"f:`+key+`"`) {
			return f.Manager
		}
	}
	return ""
}
