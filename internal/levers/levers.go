// Package levers names the requests people make of a running release —
// promote, abort, retry, pause — reads them from a Canary's annotations
// (with who set them, from managedFields) for the analysis engine, and
// builds the patches that the kubectl plugin and the dashboard send.
//
// A lever is an annotation, not a spec field, so that it works the same
// from kubectl, a GitOps commit or any client with RBAC's patch on
// canaries, and so that a GitOps tool applying the Canary's spec does not
// revert it: server-side apply leaves fields owned by other managers alone.
package levers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/workload"
)

// Lever is one kind of request.
type Lever string

// The levers, in the order the operator handles them when several are
// pending: an abort wins over anything asked at the same time.
const (
	Abort   Lever = "abort"
	Promote Lever = "promote"
	Retry   Lever = "retry"
	Pause   Lever = "pause"
)

// All are the levers in the order they are handled.
var All = []Lever{Abort, Promote, Retry, Pause}

// Parse returns the lever named s.
func Parse(s string) (Lever, error) {
	for _, l := range All {
		if string(l) == s {
			return l, nil
		}
	}
	return "", fmt.Errorf("unknown lever %q: use promote, abort, retry or pause", s)
}

// Annotation is the lever's annotation on the Canary.
func (l Lever) Annotation() string {
	switch l {
	case Promote:
		return flaggerv1.PromoteAnnotation
	case Abort:
		return flaggerv1.AbortAnnotation
	case Retry:
		return flaggerv1.RetryAnnotation
	default:
		return flaggerv1.PauseAnnotation
	}
}

// Request is a lever request found on a Canary.
type Request struct {
	// ID is the annotation's value.
	ID string
	// RequestedBy is the field manager that set the annotation; empty
	// when managedFields do not say.
	RequestedBy string
	// Invalid, when not empty, says why the request cannot be acted on.
	Invalid string
}

// Requests returns the lever requests present on c, by lever.
func Requests(c *flaggerv1.Canary) map[Lever]Request {
	out := map[Lever]Request{}
	for _, l := range All {
		id, ok := c.Annotations[l.Annotation()]
		if !ok {
			continue
		}
		r := Request{ID: id}
		if w := workload.LatestWriter(c.ManagedFields, fieldpath.MakePathOrDie("metadata", "annotations", l.Annotation()), ""); w != nil {
			r.RequestedBy = w.Manager
		}
		if len(id) > flaggerv1.MaxLeverIDLength {
			r.Invalid = fmt.Sprintf("annotation %s: the request id must be at most %d characters, got %d", l.Annotation(), flaggerv1.MaxLeverIDLength, len(id))
			r.ID = id[:flaggerv1.MaxLeverIDLength]
		}
		out[l] = r
	}
	return out
}

// Handled returns the record of the last request of l the operator
// handled (for pause: the pause in force), nil if none.
func Handled(s *flaggerv1.LeverStatus, l Lever) *flaggerv1.LeverRecord {
	if s == nil {
		return nil
	}
	switch l {
	case Promote:
		return s.Promote
	case Abort:
		return s.Abort
	case Retry:
		return s.Retry
	default:
		return s.Pause
	}
}

// SetHandled records r as the handled request of l.
func SetHandled(s *flaggerv1.LeverStatus, l Lever, r *flaggerv1.LeverRecord) {
	switch l {
	case Promote:
		s.Promote = r
	case Abort:
		s.Abort = r
	case Retry:
		s.Retry = r
	default:
		s.Pause = r
	}
}

// Patch is a JSON merge patch that sets the lever's annotation to id.
func Patch(l Lever, id string) []byte {
	return annotationPatch(l.Annotation(), &id)
}

// ResumePatch is a JSON merge patch that removes the pause annotation.
func ResumePatch() []byte {
	return annotationPatch(flaggerv1.PauseAnnotation, nil)
}

func annotationPatch(key string, value *string) []byte {
	p := map[string]any{"metadata": map[string]any{"annotations": map[string]any{key: value}}}
	data, _ := json.Marshal(p) // a map of strings always marshals
	return data
}

// NewID returns a request id that sorts by time and is unique enough for
// people pressing a button: 20261125T185552Z-3f9a1c.
func NewID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// maxFieldManager is the API server's limit on a field manager's name.
const maxFieldManager = 128

// FieldManager names the writes of a client on behalf of a user, e.g.
// kubectl-serin:jane, so that the operator can say who asked. The API
// server takes names of at most 128 printable characters.
func FieldManager(client, user string) string {
	if user == "" {
		return client
	}
	name := client + ":" + strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, user)
	if len(name) > maxFieldManager {
		name = name[:maxFieldManager]
		// Never cut a multi-byte character in half.
		name = strings.ToValidUTF8(name, "")
	}
	return name
}

// Pull makes a lever request on c as field manager manager: it sets the
// lever's annotation to a new request id, which it returns.
func Pull(ctx context.Context, w client.Writer, c *flaggerv1.Canary, l Lever, manager string, now time.Time) (string, error) {
	id := NewID(now)
	if err := w.Patch(ctx, c, client.RawPatch(types.MergePatchType, Patch(l, id)), client.FieldOwner(manager)); err != nil {
		return "", fmt.Errorf("set %s on canary %s: %w", l.Annotation(), c.Name, err)
	}
	return id, nil
}

// Resume removes the pause annotation from c as field manager manager.
func Resume(ctx context.Context, w client.Writer, c *flaggerv1.Canary, manager string) error {
	if err := w.Patch(ctx, c, client.RawPatch(types.MergePatchType, ResumePatch()), client.FieldOwner(manager)); err != nil {
		return fmt.Errorf("remove %s from canary %s: %w", flaggerv1.PauseAnnotation, c.Name, err)
	}
	return nil
}
