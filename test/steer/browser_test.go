package steer

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

var screenshots = flag.Bool("screenshots", false, "write the dashboard screenshots to docs/")

// newBrowser starts Debian's headless Chromium with a fresh profile and
// nothing that reaches the network, and returns a tab's context.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("chromium"), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser, which lives as long as ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs browser steps within timeout.
func do(t *testing.T, ctx context.Context, timeout time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one browser action that reads a value, within 30s.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// signIn opens the dashboard and signs in with token.
func signIn(t *testing.T, ctx context.Context, token string) {
	t.Helper()
	do(t, ctx, 30*time.Second, "sign in",
		chromedp.Navigate(dashboardURL(t)+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		// Pasted, not typed: a token is a thousand characters.
		chromedp.SetValue(chromedp.ID("token"), token),
		chromedp.Click(chromedp.CSS("#signin-form button")),
		chromedp.WaitVisible(chromedp.ID("list")))
}

// In a real Chromium: a user whose token covers one namespace sees only
// that namespace's canary, watches the weight chart move as the operator
// advances the release, is offered no levers without patch, and with
// patch pulls abort from the page.
func TestDashboardInChromiumShowsAReleaseMoveAndItsLevers(t *testing.T) {
	t.Parallel()
	e := framework.Get()
	ns, other := e.Namespace(t), e.Namespace(t)
	haltedRelease(t, other)
	viewer := newUser(t, ns, "viewer", readCanaries, ns)
	steerer := newUser(t, ns, "steerer", steerCanaries, ns)
	prepareRelease(t, ns)
	ctx := newBrowser(t)

	signIn(t, ctx, viewer.token)
	do(t, ctx, 30*time.Second, "wait for the canary list", chromedp.WaitVisible(chromedp.CSS(`tr[data-canary="`+ns+`/podinfo"]`)))
	rows := get(t, ctx, "read the canary list", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#canary-list tbody tr')].map(r => r.dataset.canary)`))
	if !slices.Equal(rows, []string{ns + "/podinfo"}) {
		t.Errorf("the list shows %v to a user who may only see %s", rows, ns)
	}
	shoot(t, ctx, "dashboard-list.png")

	do(t, ctx, 30*time.Second, "open the release",
		chromedp.Navigate(dashboardURL(t)+"/#/"+ns+"/podinfo"),
		chromedp.WaitVisible(chromedp.ID("weight-chart")),
		chromedp.WaitVisible(chromedp.ID("levers-denied")))
	deployNewRevision(t, ns)
	var seen [][]int
	framework.Eventually(t, 90*time.Second, "the weight chart to climb to 30 %", func(context.Context) (bool, string) {
		points := get(t, ctx, "read the weight chart", chromedp.AttributeValue(chromedp.ID("weight-chart"), "data-points"))
		w := parseWeights(points.Value)
		if len(seen) == 0 || !slices.Equal(seen[len(seen)-1], w) {
			seen = append(seen, w)
		}
		return slices.Contains(w, 30), fmt.Sprintf("weights drawn so far %v", seen)
	})
	if len(seen) < 3 {
		t.Errorf("the chart never changed on the open page: %v", seen)
	}
	charts := get(t, ctx, "read the metric charts", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#metric-charts svg')].map(s => s.getAttribute('aria-label'))`))
	if want := []string{"request-success-rate >= 99", "request-duration <= 500"}; !slices.Equal(charts, want) {
		t.Errorf("the page draws metric charts %q, want %q", charts, want)
	}
	shoot(t, ctx, "dashboard-release.png")

	do(t, ctx, 30*time.Second, "sign out",
		chromedp.Click(chromedp.ID("signout")),
		chromedp.WaitVisible(chromedp.ID("token")))
	signIn(t, ctx, steerer.token)
	do(t, ctx, 30*time.Second, "abort from the page",
		chromedp.Navigate(dashboardURL(t)+"/#/"+ns+"/podinfo"),
		chromedp.WaitVisible(chromedp.ID("lever-abort")),
		// The page asks "Roll podinfo back now?"; the person says yes.
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool]("window.confirm = () => true, true")(ctx, t)
			return err
		}),
		chromedp.Click(chromedp.ID("lever-abort")),
		chromedp.WaitVisible(chromedp.CSS("#lever-message.ok")))
	// Read in one script: the page redraws the canary (keeping the
	// message) as its status changes, which can replace the node between
	// a query and a read of it.
	message := get(t, ctx, "read the lever message", chromedp.Evaluate[string](`document.getElementById('lever-message').textContent`))
	c := &flaggerv1.Canary{}
	framework.MustGet(t, ns, "podinfo", c)
	id := c.Annotations[flaggerv1.AbortAnnotation]
	if id == "" || !strings.Contains(message, id) {
		t.Errorf("the page says %q; the canary's %s is %q", message, flaggerv1.AbortAnnotation, id)
	}
	if got, want := annotationManager(c, flaggerv1.AbortAnnotation), "serin-dashboard:"+steerer.name; got != want {
		t.Errorf("the abort annotation's manager is %q, want %q", got, want)
	}
}

func parseWeights(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if v, err := strconv.Atoi(f); err == nil {
			out = append(out, v)
		}
	}
	return out
}

// shoot saves a screenshot of the page in the run's artifacts and, with
// -screenshots, under docs/.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	dirs := []string{framework.Get().Artifacts}
	if *screenshots {
		dirs = append(dirs, filepath.Join(framework.Get().Root, "docs"))
	}
	for _, dir := range dirs {
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
