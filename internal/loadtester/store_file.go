package loadtester

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
)

// gateState is the open gates by kind and canary; closed gates are absent. It is also the
// JSON layout of the file store: {"gate":{"podinfo.test":true},"rollback":{}}.
type gateState map[GateKind]map[string]bool

// FileStore keeps gate state in a local JSON file, for running outside a cluster. The file is
// read once when the store opens; afterwards this process is its only writer.
type FileStore struct {
	path    string
	maxOpen int
	mu      sync.Mutex
	state   gateState
}

// OpenFileStore loads the gate state from path, starting empty if the file does not exist. At
// most maxOpen gates may be open at once.
func OpenFileStore(path string, maxOpen int) (*FileStore, error) {
	s := &FileStore{path: path, maxOpen: maxOpen, state: gateState{}}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("read gate file %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &s.state); err != nil {
		return nil, fmt.Errorf("parse gate file %s: %w", path, err)
	}
	if s.state == nil { // the file held "null"
		s.state = gateState{}
	}
	return s, nil
}

// IsOpen reports whether the gate is open.
func (s *FileStore) IsOpen(_ context.Context, kind GateKind, canary string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state[kind][canary], nil
}

// SetOpen changes a gate and writes the whole state to disk before returning. The in-memory
// state changes only after the write succeeded, so memory and file never disagree.
func (s *FileStore) SetOpen(_ context.Context, kind GateKind, canary string, open bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if open && !s.state[kind][canary] && s.openCount() >= s.maxOpen {
		return fmt.Errorf("%w: %d are open", ErrTooManyGates, s.openCount())
	}
	next := gateState{}
	for k, v := range s.state {
		next[k] = maps.Clone(v)
	}
	if open {
		if next[kind] == nil {
			next[kind] = map[string]bool{}
		}
		next[kind][canary] = true
	} else {
		delete(next[kind], canary)
	}
	data, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return fmt.Errorf("encode gate state: %w", err)
	}
	if err := writeFileAtomic(s.path, data); err != nil {
		return err
	}
	s.state = next
	return nil
}

func (s *FileStore) openCount() int {
	n := 0
	for _, gates := range s.state {
		n += len(gates)
	}
	return n
}

// writeFileAtomic writes a temporary file next to path, syncs it and renames it over path, so
// a crash leaves either the old or the new state on disk, never a torn file.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary gate file in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name()) // a no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace gate file %s: %w", path, err)
	}
	// Persist the rename itself; without this a power loss can forget it.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
