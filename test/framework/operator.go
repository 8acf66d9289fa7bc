package framework

import (
	"bufio"
	"fmt"
	"net"
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
// flags; it is stopped when the test ends.
func (e *Env) StartOperator(t testing.TB, flags ...string) *Operator {
	t.Helper()
	metricsPort, probePort := freePort(t), freePort(t)
	args := append([]string{
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metricsPort),
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probePort),
	}, flags...)
	logPath := filepath.Join(e.Artifacts, fmt.Sprintf("operator-%s-%d.log", sanitize(t.Name()), time.Now().UnixNano()))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(e.OperatorBin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.Cluster.Kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start operator: %v", err)
	}
	op := &Operator{cmd: cmd, logPath: logPath, done: make(chan struct{}),
		MetricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)}
	go func() { _ = cmd.Wait(); close(op.done) }()
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

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}
