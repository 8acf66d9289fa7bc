package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/authentication/user"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/levers"
	"github.com/serin-dev/serin/internal/view"
)

// FieldManager is the client part of the dashboard's field manager; the
// signed-in user follows it (serin-dashboard:jane).
const FieldManager = "serin-dashboard"

// maxLeverBody bounds a lever request's body, which carries nothing.
const maxLeverBody = 1 << 10

// whoamiResponse says who the token belongs to.
type whoamiResponse struct {
	User   string   `json:"user"`
	Groups []string `json:"groups"`
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, whoamiResponse{User: c.user.GetName(), Groups: c.user.GetGroups()})
}

// listResponse is the canary list a user may see.
type listResponse struct {
	Items []view.Summary `json:"items"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	items, err := s.summaries(r.Context(), c.user)
	if err != nil {
		s.log.Error(err, "List canaries")
		writeError(w, http.StatusInternalServerError, "the canaries could not be read")
		return
	}
	writeJSON(w, http.StatusOK, listResponse{Items: items})
}

// summaries lists the canaries u may list: all of them with list on
// canaries cluster-wide, else those of each namespace where u may list.
func (s *Server) summaries(ctx context.Context, u user.Info) ([]view.Summary, error) {
	var list flaggerv1.CanaryList
	if err := s.reader.List(ctx, &list); err != nil {
		return nil, err
	}
	everywhere := s.allowed(ctx, u, canaries("list", "", ""))
	visible := map[string]bool{}
	items := []view.Summary{}
	for i := range list.Items {
		c := &list.Items[i]
		may, seen := visible[c.Namespace]
		if !seen {
			may = everywhere || s.allowed(ctx, u, canaries("list", c.Namespace, ""))
			visible[c.Namespace] = may
		}
		if may {
			items = append(items, view.Summarize(c))
		}
	}
	view.SortSummaries(items)
	return items, nil
}

// detailResponse is one release as a user may see it.
type detailResponse struct {
	Canary view.Detail `json:"canary"`
	// CanPatch says whether the user may pull the levers.
	CanPatch bool `json:"canPatch"`
	// EventsHidden is set when the user may not list events there.
	EventsHidden bool `json:"eventsHidden,omitempty"`
}

func (s *Server) detail(w http.ResponseWriter, r *http.Request) {
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	d, code, msg := s.describe(r.Context(), c.user, ns, name)
	if code != http.StatusOK {
		writeError(w, code, msg)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// describe reads a release for u, checking get on the canary first; it
// returns the HTTP status and, unless OK, a message.
func (s *Server) describe(ctx context.Context, u user.Info, ns, name string) (detailResponse, int, string) {
	if !s.allowed(ctx, u, canaries("get", ns, name)) {
		return detailResponse{}, http.StatusForbidden, forbidden(u, "get", ns, name)
	}
	canary := &flaggerv1.Canary{}
	if err := s.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, canary); err != nil {
		if apierrors.IsNotFound(err) {
			return detailResponse{}, http.StatusNotFound, fmt.Sprintf("canary %s not found in namespace %s", name, ns)
		}
		s.log.Error(err, "Get canary", "namespace", ns, "name", name)
		return detailResponse{}, http.StatusInternalServerError, "the canary could not be read"
	}
	var evs corev1.EventList
	hidden := !s.allowed(ctx, u, events(ns))
	if !hidden {
		if err := s.reader.List(ctx, &evs, client.InNamespace(ns)); err != nil {
			s.log.Error(err, "List events", "namespace", ns)
		}
	}
	return detailResponse{
		Canary:       view.Describe(canary, evs.Items),
		CanPatch:     s.allowed(ctx, u, canaries("patch", ns, name)),
		EventsHidden: hidden,
	}, http.StatusOK, ""
}

// leverResponse acknowledges a request; the operator acts on it next.
type leverResponse struct {
	Lever string `json:"lever"`
	// ID is the request id set on the annotation; empty for resume.
	ID         string `json:"id,omitempty"`
	Annotation string `json:"annotation"`
}

func (s *Server) lever(w http.ResponseWriter, r *http.Request) {
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	ns, name, what := r.PathValue("namespace"), r.PathValue("name"), r.PathValue("lever")
	resume := what == "resume"
	l, err := levers.Parse(what)
	if resume {
		l, err = levers.Pause, nil
	}
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error()+", or resume")
		return
	}
	if code, msg := checkLeverRequest(w, r); code != 0 {
		writeError(w, code, msg)
		return
	}
	ctx := r.Context()
	if !s.allowed(ctx, c.user, canaries("patch", ns, name)) {
		writeError(w, http.StatusForbidden, forbidden(c.user, "patch", ns, name))
		return
	}
	canary := &flaggerv1.Canary{}
	if err := s.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, canary); err != nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("canary %s not found in namespace %s", name, ns))
		return
	}
	manager := levers.FieldManager(FieldManager, c.user.GetName())
	res := leverResponse{Lever: what, Annotation: l.Annotation()}
	if resume {
		err = levers.Resume(ctx, s.writer, canary, manager)
	} else {
		res.ID, err = levers.Pull(ctx, s.writer, canary, l, manager, time.Now())
	}
	if err != nil {
		s.log.Error(err, "Pull lever", "lever", what, "namespace", ns, "name", name, "user", c.user.GetName())
		writeError(w, http.StatusBadGateway, "the request could not be written to the canary")
		return
	}
	s.log.Info("Lever pulled", "lever", what, "namespace", ns, "name", name, "user", c.user.GetName(), "id", res.ID)
	writeJSON(w, http.StatusAccepted, res)
}

// checkLeverRequest refuses what a browser form from another site could
// send (no JSON content type) and bodies past maxLeverBody; it returns
// the status and message, or 0.
func checkLeverRequest(w http.ResponseWriter, r *http.Request) (int, string) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, "a lever request must have Content-Type: application/json"
	}
	_, err = io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxLeverBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("a lever request's body must be at most %d bytes", maxLeverBody)
	}
	return 0, ""
}

// forbidden says what RBAC refused, in the API server's words.
func forbidden(u user.Info, verb, ns, name string) string {
	return fmt.Sprintf("canaries.flagger.app %q is forbidden: User %q cannot %s resource \"canaries\" in API group \"flagger.app\" in the namespace %q",
		name, u.GetName(), verb, ns)
}
