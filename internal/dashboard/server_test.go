package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crfake "sigs.k8s.io/controller-runtime/pkg/client/fake"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// rbac is what each token's user may do: "verb namespace" entries, with
// namespace "*" for every namespace.
var rbac = map[string][]string{
	"alice": {"list team-a", "get team-a", "patch team-a", "list-events team-a"},
	"bob":   {"list team-a", "get team-a"},
	"root":  {"list *", "get *", "patch *", "list-events *"},
}

// fixture is a dashboard whose TokenReviews and SubjectAccessReviews are
// answered from rbac by reviewServer, reading canaries from a fake client:
// Kubernetes' own delegating authenticator and authorizer run unchanged.
type fixture struct {
	srv    *httptest.Server
	reader client.Client
	broker *Broker
}

func newFixture(t *testing.T, opts AuthOptions, canaries ...string) *fixture {
	t.Helper()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: reviewServer(t).URL})
	if err != nil {
		t.Fatal(err)
	}
	authn, authz, err := NewAuth(cs, opts)
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = flaggerv1.AddToScheme(scheme)
	b := crfake.NewClientBuilder().WithScheme(scheme)
	for _, key := range canaries {
		ns, name, _ := strings.Cut(key, "/")
		b = b.WithObjects(&flaggerv1.Canary{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Status: flaggerv1.CanaryStatus{Phase: flaggerv1.CanaryPhaseProgressing, CanaryWeight: 10}})
	}
	cl := b.Build()
	broker := NewBroker()
	s := NewServer(ctrl.Log, authn, authz, cl, cl, broker, Options{MaxStreams: 4, MaxStreamsPerUser: 2, Heartbeat: time.Second})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, reader: cl, broker: broker}
}

// reviewServer answers TokenReviews (token-NAME is user NAME when rbac
// knows NAME) and SubjectAccessReviews (from rbac) as an API server would.
func reviewServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var out any
		switch r.URL.Path {
		case "/apis/authentication.k8s.io/v1/tokenreviews":
			tr := &authenticationv1.TokenReview{}
			_ = json.NewDecoder(r.Body).Decode(tr)
			name := strings.TrimPrefix(tr.Spec.Token, "token-")
			_, known := rbac[name]
			tr.Status = authenticationv1.TokenReviewStatus{Authenticated: known, User: authenticationv1.UserInfo{Username: name}}
			out = tr
		case "/apis/authorization.k8s.io/v1/subjectaccessreviews":
			sar := &authorizationv1.SubjectAccessReview{}
			_ = json.NewDecoder(r.Body).Decode(sar)
			ra := sar.Spec.ResourceAttributes
			verb := ra.Verb
			if ra.Resource == "events" {
				verb = "list-events"
			}
			sar.Status.Allowed = slices.Contains(rbac[sar.Spec.User], verb+" *") ||
				(ra.Namespace != "" && slices.Contains(rbac[sar.Spec.User], verb+" "+ra.Namespace))
			out = sar
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (f *fixture) do(t *testing.T, method, path, user, contentType, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if user != "" {
		req.Header.Set("Authorization", "Bearer token-"+user)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func TestRequestsWithoutAValidTokenGet401(t *testing.T) {
	f := newFixture(t, AuthOptions{CacheTTL: time.Second}, "team-a/podinfo")
	for name, user := range map[string]string{"no token": "", "a token the API server rejects": "mallory"} {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/whoami", "/api/v1/canaries", "/api/v1/namespaces/team-a/canaries/podinfo", "/api/v1/stream"} {
				resp, _ := f.do(t, http.MethodGet, path, user, "", "")
				if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("GET %s: %d (WWW-Authenticate %q), want 401 with a challenge", path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
				}
			}
		})
	}
}

func TestAnonymousAccessIsOnlyWhatRBACGivesSystemAnonymous(t *testing.T) {
	f := newFixture(t, AuthOptions{CacheTTL: time.Second, AllowAnonymous: true}, "team-a/podinfo")
	resp, body := f.do(t, http.MethodGet, "/api/v1/whoami", "", "", "")
	if resp.StatusCode != http.StatusOK || body["user"] != "system:anonymous" {
		t.Fatalf("whoami without a token: %d %v, want system:anonymous", resp.StatusCode, body)
	}
	if _, body := f.do(t, http.MethodGet, "/api/v1/canaries", "", "", ""); len(body["items"].([]any)) != 0 {
		t.Errorf("system:anonymous, with no role, sees %v", body["items"])
	}
	if resp, _ := f.do(t, http.MethodGet, "/api/v1/canaries", "mallory", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a rejected token with anonymous access on: %d, want 401", resp.StatusCode)
	}
}

func TestEachUserListsOnlyTheNamespacesRBACLetsThemList(t *testing.T) {
	f := newFixture(t, AuthOptions{CacheTTL: time.Second}, "team-a/podinfo", "team-b/backend", "team-a/frontend")
	cases := map[string]struct {
		user string
		want []string
	}{
		"a user of team-a":              {user: "alice", want: []string{"team-a/frontend", "team-a/podinfo"}},
		"a user with cluster-wide list": {user: "root", want: []string{"team-a/frontend", "team-a/podinfo", "team-b/backend"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp, body := f.do(t, http.MethodGet, "/api/v1/canaries", tc.user, "", "")
			var got []string
			for _, it := range body["items"].([]any) {
				m := it.(map[string]any)
				got = append(got, m["namespace"].(string)+"/"+m["name"].(string))
			}
			if resp.StatusCode != http.StatusOK || !slices.Equal(got, tc.want) {
				t.Errorf("%d %v, want %v", resp.StatusCode, got, tc.want)
			}
		})
	}
	resp, body := f.do(t, http.MethodGet, "/api/v1/namespaces/team-b/canaries/backend", "alice", "", "")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body["error"].(string), `User "alice" cannot get resource "canaries"`) {
		t.Errorf("alice reading team-b's canary: %d %v, want 403 naming the verb", resp.StatusCode, body)
	}
}

func TestLeversNeedPatchOnTheCanary(t *testing.T) {
	f := newFixture(t, AuthOptions{CacheTTL: time.Second}, "team-a/podinfo")
	path := "/api/v1/namespaces/team-a/canaries/podinfo/abort"
	resp, body := f.do(t, http.MethodPost, path, "bob", "application/json", "{}")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body["error"].(string), "cannot patch") {
		t.Errorf("bob (get only): %d %v, want 403", resp.StatusCode, body)
	}
	_, detail := f.do(t, http.MethodGet, "/api/v1/namespaces/team-a/canaries/podinfo", "bob", "", "")
	if detail["canPatch"] != false || detail["eventsHidden"] != true {
		t.Errorf("bob's detail says canPatch %v, eventsHidden %v", detail["canPatch"], detail["eventsHidden"])
	}
	c := &flaggerv1.Canary{}
	_ = f.reader.Get(context.Background(), client.ObjectKey{Namespace: "team-a", Name: "podinfo"}, c)
	if _, set := c.Annotations[flaggerv1.AbortAnnotation]; set {
		t.Fatal("a refused abort was written")
	}
	resp, body = f.do(t, http.MethodPost, path, "alice", "application/json", "{}")
	if resp.StatusCode != http.StatusAccepted || body["id"] == "" {
		t.Fatalf("alice: %d %v, want 202 with a request id", resp.StatusCode, body)
	}
	_ = f.reader.Get(context.Background(), client.ObjectKey{Namespace: "team-a", Name: "podinfo"}, c)
	if c.Annotations[flaggerv1.AbortAnnotation] != body["id"] {
		t.Errorf("annotations %v, want %s=%v", c.Annotations, flaggerv1.AbortAnnotation, body["id"])
	}
}

func TestLeverRequestsAreRefusedUnlessJSONAndSmall(t *testing.T) {
	f := newFixture(t, AuthOptions{CacheTTL: time.Second}, "team-a/podinfo")
	path := "/api/v1/namespaces/team-a/canaries/podinfo/promote"
	cases := map[string]struct {
		contentType, body string
		code              int
	}{
		"a form, as another site could post": {contentType: "application/x-www-form-urlencoded", body: "a=b", code: http.StatusUnsupportedMediaType},
		"no content type":                    {code: http.StatusUnsupportedMediaType},
		"a body larger than 1 KiB":           {contentType: "application/json", body: `{"x":"` + strings.Repeat("a", 2000) + `"}`, code: http.StatusRequestEntityTooLarge},
		"an unknown lever":                   {contentType: "application/json", body: "{}", code: http.StatusNotFound},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := path
			if name == "an unknown lever" {
				p = strings.TrimSuffix(path, "promote") + "rollback"
			}
			if resp, body := f.do(t, http.MethodPost, p, "alice", tc.contentType, tc.body); resp.StatusCode != tc.code {
				t.Errorf("%d %v, want %d", resp.StatusCode, body, tc.code)
			}
		})
	}
}

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	f := newFixture(t, AuthOptions{CacheTTL: time.Second})
	for _, path := range []string{"/", "/app.js", "/api/v1/canaries"} {
		resp, _ := f.do(t, http.MethodGet, path, "alice", "", "")
		for h, want := range map[string]string{
			"Content-Security-Policy": "script-src 'self'", "X-Content-Type-Options": "nosniff",
			"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		} {
			if !strings.Contains(resp.Header.Get(h), want) {
				t.Errorf("%s: %s = %q, want %q", path, h, resp.Header.Get(h), want)
			}
		}
	}
}

func TestAStreamSendsTheListAgainWhenAWatchReportsAChange(t *testing.T) {
	f := newFixture(t, AuthOptions{CacheTTL: time.Second}, "team-a/podinfo", "team-b/backend")
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer token-alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := readEvents(resp)
	first := <-events
	if !strings.Contains(first, `"name":"podinfo"`) || strings.Contains(first, "backend") {
		t.Fatalf("first list %s, want team-a's podinfo only", first)
	}
	// A change alice may not see sends nothing; hers sends the new list.
	f.broker.Publish("team-b", "backend")
	c := &flaggerv1.Canary{}
	_ = f.reader.Get(context.Background(), client.ObjectKey{Namespace: "team-a", Name: "podinfo"}, c)
	c.Status.CanaryWeight = 15
	if err := f.reader.Update(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	f.broker.Publish("team-a", "podinfo")
	select {
	case next := <-events:
		if !strings.Contains(next, `"weight":15`) {
			t.Errorf("next list %s, want weight 15", next)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no list after a change")
	}
}

func TestStreamsAreLimitedPerUser(t *testing.T) {
	f := newFixture(t, AuthOptions{CacheTTL: time.Second}, "team-a/podinfo")
	var open []*http.Response
	defer func() {
		for _, r := range open {
			r.Body.Close()
		}
	}()
	for i := range 3 {
		req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/stream", nil)
		req.Header.Set("Authorization", "Bearer token-alice")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, resp)
		want := http.StatusOK
		if i == 2 {
			want = http.StatusTooManyRequests
		}
		if resp.StatusCode != want {
			t.Errorf("stream %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
}

// readEvents sends the data lines of a server-sent event stream.
func readEvents(resp *http.Response) <-chan string {
	out := make(chan string, 16)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data: ") {
				out <- strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return out
}
