package controller

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// ownWrites remembers, for each canary, the resourceVersions the
// operator's own status writes replaced since the cache last caught up.
// A cached canary still at one of them predates a write this process
// made: reconciling it would decide on a status already superseded and
// end in a conflict. Such a reconcile waits for the watch event of the
// write instead, which is on its way. The zero value is ready to use.
type ownWrites struct {
	mu       sync.Mutex
	replaced map[types.NamespacedName][]string
}

// maxReplaced bounds what is kept per canary; a reconcile writes its
// status at most a few times.
const maxReplaced = 8

// wrote records that a write replaced resourceVersion old of canary.
func (w *ownWrites) wrote(canary types.NamespacedName, old string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.replaced == nil {
		w.replaced = map[types.NamespacedName][]string{}
	}
	versions := append(w.replaced[canary], old)
	if len(versions) > maxReplaced {
		versions = versions[len(versions)-maxReplaced:]
	}
	w.replaced[canary] = versions
}

// stale reports whether the cached resourceVersion of canary was replaced
// by one of the operator's writes; once the cache holds a newer version,
// the record is dropped. resourceVersions are compared for equality only,
// as the API asks; a canary deleted and made again under the same name
// never has an old one's version.
func (w *ownWrites) stale(canary types.NamespacedName, cached string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, v := range w.replaced[canary] {
		if v == cached {
			return true
		}
	}
	delete(w.replaced, canary)
	return false
}

// forget drops what is kept of a deleted canary.
func (w *ownWrites) forget(canary types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.replaced, canary)
}
