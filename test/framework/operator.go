package framework

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Operator is a running serin process.
type Operator struct {
	cmd     *exec.Cmd
	logPath string
	// MetricsURL is the operator's /metrics endpoint.
	MetricsURL string
	done       chan struct{}
	mu         sync.Mutex
	stopped    bool
}

// StartOperator runs the operator against the test cluster with extra
// flags, as the user config/rbac/role.yaml is bound to; it is stopped when
// the test ends.
func (e *Env) StartOperator(t testing.TB, flags ...string) *Operator {
	t.Helper()
	logPath := filepath.Join(e.Artifacts, fmt.Sprintf("operator-%s-%d.log", sanitize(t.Name()), time.Now().UnixNano()))
	op, err := RunOperator(e.OperatorBin, e.Cluster.OperatorKubeconfig, logPath, flags...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Kill)
	return op
}

// Kill ends the operator at once, as a crash or an evicted pod would.
func (o *Operator) Kill() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped {
		return
	}
	o.stopped = true
	_ = syscall.Kill(-o.cmd.Process.Pid, syscall.SIGKILL)
	<-o.done
}

// Log returns the operator's output so far.
func (o *Operator) Log() string {
	data, _ := os.ReadFile(o.logPath)
	return string(data)
}

// ErrorLines returns the log lines at error level.
func (o *Operator) ErrorLines() []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(o.Log()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"level":"error"`) {
			out = append(out, sc.Text())
		}
	}
	return out
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

// Pid is the operator's process id.
func (o *Operator) Pid() int { return o.cmd.Process.Pid }
