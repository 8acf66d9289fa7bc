package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// coalesce is how long a stream gathers changes before it sends: a step
// changes the canary and writes events within a few milliseconds.
const coalesce = 100 * time.Millisecond

// stream serves server-sent events: "list" with the canaries the user may
// see, or, with ?namespace=&name=, "detail" with one release; each is
// sent when the stream opens and again whenever a watch reports a change
// to what it shows. Every few seconds (Options.Heartbeat) the token and
// the access are checked again; the stream ends with an "end" event when
// either is gone.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	c, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	ns, name := r.URL.Query().Get("namespace"), r.URL.Query().Get("name")
	if (ns == "") != (name == "") {
		writeError(w, http.StatusBadRequest, "a detail stream needs both namespace and name; a list stream neither")
		return
	}
	if !s.acquire(c.user.GetName()) {
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("too many live streams: at most %d per user and %d in all", s.opts.MaxStreamsPerUser, s.opts.MaxStreams))
		return
	}
	defer s.release(c.user.GetName())
	ctx := r.Context()
	// Subscribe before the first payload, so no change falls in between.
	sub := s.broker.Subscribe()
	defer s.broker.Unsubscribe(sub)
	next := func() payload { return s.listPayload(ctx, c) }
	if name != "" {
		next = func() payload { return s.detailPayload(ctx, c, ns, name) }
	}
	first := next()
	if first.code != http.StatusOK {
		writeError(w, first.code, first.msg)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no") // proxies must not buffer a stream
	out := &eventWriter{rc: http.NewResponseController(w), w: w, deadline: s.opts.Heartbeat}
	if err := out.send(first.event, first.data); err != nil {
		return
	}
	s.serveChanges(ctx, out, sub, ns+"/"+name, c, next)
}

// payload is what a stream sends, or why it cannot.
type payload struct {
	event string
	data  any
	code  int
	msg   string
}

// serveChanges sends the payload again after each relevant change until
// the client leaves or loses its token or access.
func (s *Server) serveChanges(ctx context.Context, out *eventWriter, sub *Subscription, key string, c caller, next func() payload) {
	heartbeat := time.NewTicker(s.opts.Heartbeat)
	defer heartbeat.Stop()
	detail := key != "/"
	for {
		select {
		case <-ctx.Done():
			return
		case <-heartbeat.C:
			if !s.stillValid(c) {
				_ = out.send("end", map[string]string{"reason": "the token is no longer valid"})
				return
			}
			if err := out.write(": ping\n\n"); err != nil {
				return
			}
			continue
		case <-sub.Wake():
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(coalesce):
		}
		keys, all := sub.Changed()
		if _, mine := keys[key]; detail && !all && !mine {
			continue
		}
		p := next()
		if p.code != http.StatusOK {
			_ = out.send("end", map[string]string{"reason": p.msg})
			return
		}
		if err := out.send(p.event, p.data); err != nil {
			return
		}
	}
}

func (s *Server) listPayload(ctx context.Context, c caller) payload {
	items, err := s.summaries(ctx, c.user)
	if err != nil {
		s.log.Error(err, "List canaries")
		return payload{code: http.StatusInternalServerError, msg: "the canaries could not be read"}
	}
	return payload{event: "list", data: listResponse{Items: items}, code: http.StatusOK}
}

func (s *Server) detailPayload(ctx context.Context, c caller, ns, name string) payload {
	d, code, msg := s.describe(ctx, c.user, ns, name)
	return payload{event: "detail", data: d, code: code, msg: msg}
}

// eventWriter writes server-sent events, each flushed within a deadline
// so a client that stopped reading is dropped instead of holding the
// stream. An event equal to the last one sent is skipped: a change the
// user may not see sends nothing.
type eventWriter struct {
	rc       *http.ResponseController
	w        http.ResponseWriter
	deadline time.Duration
	last     string
}

// send writes one event with JSON data.
func (e *eventWriter) send(event string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("event: %s\ndata: %s\n\n", event, b)
	if text == e.last {
		return nil
	}
	e.last = text
	return e.write(text)
}

func (e *eventWriter) write(text string) error {
	_ = e.rc.SetWriteDeadline(time.Now().Add(e.deadline))
	if _, err := fmt.Fprint(e.w, text); err != nil {
		return err
	}
	return e.rc.Flush()
}

// acquire takes a stream slot for user, within the limits.
func (s *Server) acquire(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total >= s.opts.MaxStreams || s.streams[user] >= s.opts.MaxStreamsPerUser {
		return false
	}
	s.total++
	s.streams[user]++
	return true
}

func (s *Server) release(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.streams[user]--; s.streams[user] == 0 {
		delete(s.streams, user)
	}
}
