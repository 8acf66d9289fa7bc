package demo

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/serin-dev/serin/test/cluster"
)

// OthersUsing lists live processes whose command line mentions path,
// except this process and its ancestors (a shell or `timeout` that started
// it with the path as an argument).
func OthersUsing(path string) []int {
	mine := lineage()
	var out []int
	for _, p := range cluster.ProcessesUsing(path) {
		if !mine[p] {
			out = append(out, p)
		}
	}
	return out
}

// lineage is this process and its ancestors.
func lineage() map[int]bool {
	out := map[int]bool{}
	for pid := os.Getpid(); pid > 1 && !out[pid]; {
		out[pid] = true
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			break
		}
		s := string(stat)
		// Fields after the command name: state ppid ...
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 {
			break
		}
		pid, _ = strconv.Atoi(f[1])
	}
	return out
}
