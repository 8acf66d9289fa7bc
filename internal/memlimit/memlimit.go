// Package memlimit gives the Go runtime a soft memory limit below the
// container's: a heap that doubles between collections (GOGC=100) would
// otherwise outgrow a memory limit its live objects fit in, and the pod
// would be OOM-killed in a burst of releases rather than collect sooner.
package memlimit

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// Ratio is the share of the container's memory limit given to the Go
// runtime: the rest is for what the runtime does not count (thread
// stacks outside the heap, the binary's pages).
const Ratio = 0.9

// cgroupFiles hold the memory limit, cgroup v2 first, then v1.
var cgroupFiles = []string{"memory.max", "memory/memory.limit_in_bytes"}

// unlimitedV1 is at or above what cgroup v1 reports for "no limit"
// (the largest page-aligned int64).
const unlimitedV1 = math.MaxInt64 &^ 4095

// Set gives the runtime Ratio of the memory limit of the cgroup mounted
// at root (/sys/fs/cgroup in a container) unless GOMEMLIMIT is set, which
// the runtime honours itself. It returns the limit set, 0 when none, and
// what it came from, for the operator's start-up log.
func Set(root string) (int64, string, error) {
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		return debug.SetMemoryLimit(-1), "GOMEMLIMIT=" + v, nil
	}
	limit, file, err := cgroupLimit(root)
	if err != nil || limit == 0 {
		return 0, file, err
	}
	soft := int64(float64(limit) * Ratio)
	debug.SetMemoryLimit(soft)
	return soft, fmt.Sprintf("%.0f%% of %s (%d bytes)", Ratio*100, file, limit), nil
}

// cgroupLimit reads the memory limit of the cgroup at root; 0 when there
// is none (no cgroup file, "max", or v1's unlimited value).
func cgroupLimit(root string) (int64, string, error) {
	for _, name := range cgroupFiles {
		path := filepath.Join(root, name)
		data, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return 0, path, err
		}
		text := strings.TrimSpace(string(data))
		if text == "max" {
			return 0, path, nil
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || n <= 0 {
			return 0, path, fmt.Errorf("%s: %q is not a memory limit in bytes", path, text)
		}
		if n >= unlimitedV1 {
			return 0, path, nil
		}
		return n, path, nil
	}
	return 0, "", nil
}
