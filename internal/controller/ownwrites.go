package controller

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/analysis"
)

// ownWrites remembers, for each canary, what the operator's own writes
// changed that the informer cache may not have seen yet:
//
//   - the resourceVersions its status writes replaced. A cached canary
//     still at one of them predates a write this process made: reconciling
//     it would decide on a status already superseded and end in a
//     conflict. Such a reconcile waits for the watch event of the write
//     instead, which is on its way.
//   - when its status was last written, which paces the writes that only
//     change what a release waits for (see waitingMessageEvery).
//   - when it ran the analysis step that wrote the canary's last
//     analysis record, to the millisecond (the record keeps the second),
//     so that the next step is due an interval after it, not up to a
//     second early.
//   - the replicas it set on a Deployment, and the resourceVersion it set
//     them on. While the cache still holds that version, the patch is not
//     sent again by a reconcile that the status write's own event started.
//
// resourceVersions are compared for equality only, as the API asks; a
// canary or Deployment deleted and made again under the same name never
// has an old one's version. The zero value is ready to use.
type ownWrites struct {
	mu     sync.Mutex
	canary map[types.NamespacedName]*canaryWrites
}

type canaryWrites struct {
	replaced []string
	status   time.Time
	step     stepRun
	// scaled is keyed by Deployment name, in the canary's namespace.
	scaled map[string]scaleWrite
}

// stepRun is an analysis step this process ran: the record it wrote and
// when it ran.
type stepRun struct {
	record *flaggerv1.AnalysisRecord
	at     time.Time
}

// scaleWrite is a replica count the operator set on a Deployment whose
// cached copy was at resourceVersion from.
type scaleWrite struct {
	from     string
	replicas int32
}

// maxReplaced bounds what is kept per canary; a reconcile writes its
// status at most a few times.
const maxReplaced = 8

// wrote records that a status write at now replaced resourceVersion old
// of canary.
func (w *ownWrites) wrote(canary types.NamespacedName, old string, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cw := w.entry(canary)
	cw.replaced = append(cw.replaced, old)
	if len(cw.replaced) > maxReplaced {
		cw.replaced = cw.replaced[len(cw.replaced)-maxReplaced:]
	}
	cw.status = now
}

// stale reports whether the cached resourceVersion of canary was replaced
// by one of the operator's writes; once the cache holds a newer version,
// the record of replaced versions is dropped.
func (w *ownWrites) stale(canary types.NamespacedName, cached string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	cw := w.canary[canary]
	if cw == nil {
		return false
	}
	for _, v := range cw.replaced {
		if v == cached {
			return true
		}
	}
	cw.replaced = nil
	return false
}

// statusWrittenAt is when this process last wrote canary's status; zero
// when it has not.
func (w *ownWrites) statusWrittenAt(canary types.NamespacedName) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cw := w.canary[canary]; cw != nil {
		return cw.status
	}
	return time.Time{}
}

// stepped records that the step that wrote record ran at at.
func (w *ownWrites) stepped(canary types.NamespacedName, record *flaggerv1.AnalysisRecord, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.entry(canary).step = stepRun{record: &flaggerv1.AnalysisRecord{Time: record.Time, Decision: record.Decision}, at: at}
}

// steppedAt is when this process ran the step that wrote record; zero when
// it did not.
func (w *ownWrites) steppedAt(canary types.NamespacedName, record *flaggerv1.AnalysisRecord) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	cw := w.canary[canary]
	if cw == nil || !analysis.SameStep(cw.step.record, record) {
		return time.Time{}
	}
	return cw.step.at
}

// scaled records that the operator set the replicas of canary's
// Deployment while its cached copy was at resourceVersion from.
func (w *ownWrites) scaled(canary types.NamespacedName, deployment, from string, replicas int32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cw := w.entry(canary)
	if cw.scaled == nil {
		cw.scaled = map[string]scaleWrite{}
	}
	cw.scaled[deployment] = scaleWrite{from: from, replicas: replicas}
}

// scaledAlready reports whether the operator already set the Deployment to
// replicas from the cached version it still sees; once the cache moved on,
// the record is dropped.
func (w *ownWrites) scaledAlready(canary types.NamespacedName, deployment, cached string, replicas int32) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	cw := w.canary[canary]
	if cw == nil {
		return false
	}
	s, ok := cw.scaled[deployment]
	if !ok {
		return false
	}
	if s.from != cached {
		delete(cw.scaled, deployment)
		return false
	}
	return s.replicas == replicas
}

// entry is canary's record, made when missing; w.mu is held.
func (w *ownWrites) entry(canary types.NamespacedName) *canaryWrites {
	if w.canary == nil {
		w.canary = map[types.NamespacedName]*canaryWrites{}
	}
	cw := w.canary[canary]
	if cw == nil {
		cw = &canaryWrites{}
		w.canary[canary] = cw
	}
	return cw
}

// forget drops what is kept of a deleted canary.
func (w *ownWrites) forget(canary types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.canary, canary)
}
