package emulator

import (
	"slices"
	"sync"
)

// splitter chooses a route's target for each request in proportion to the
// targets' weights, deterministically: smooth weighted round-robin, as
// nginx does it. Envoy draws at random; a deterministic choice gives any
// run of n requests a canary share within 1/n of the weight, so a test can
// check the split at every step with a few dozen requests instead of the
// thousands a random draw needs for the same bound.
type splitter struct {
	mu    sync.Mutex
	state map[string]*wrr
}

// wrr is the state of one route's choices.
type wrr struct {
	weights []int64
	current []int64
}

func newSplitter() *splitter { return &splitter{state: map[string]*wrr{}} }

// pick returns the index of the chosen target, or -1 when every weight is
// zero. key identifies the route; new weights start a new sequence.
func (s *splitter) pick(key string, targets []target) int {
	weights := make([]int64, len(targets))
	var total int64
	for i, t := range targets {
		weights[i] = max(t.weight, 0)
		total += weights[i]
	}
	if total == 0 {
		return -1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.state[key]
	if !ok || !slices.Equal(st.weights, weights) {
		st = &wrr{weights: weights, current: make([]int64, len(weights))}
		s.state[key] = st
	}
	best := -1
	for i, w := range weights {
		st.current[i] += w
		if best < 0 || st.current[i] > st.current[best] {
			best = i
		}
	}
	st.current[best] -= total
	return best
}
