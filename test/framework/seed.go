package framework

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// RunOperator starts the operator binary bin outside a test (the demo and
// the seed scenario use it) with the same process handling as
// StartOperator: its own process group, killed when its parent dies, its
// output in logPath, metrics on a free loopback port. It returns once the
// metrics endpoint answers. Stop it with Kill.
func RunOperator(bin, kubeconfig, logPath string, flags ...string) (*Operator, error) {
	var lastErr error
	// A port found free can be taken by a concurrent start before the
	// operator binds it; such a start is tried again on other ports.
	for range 3 {
		op, err := runOperatorOnce(bin, kubeconfig, logPath, flags)
		if err == nil {
			return op, nil
		}
		lastErr = err
		if op == nil || !strings.Contains(op.Log(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

func runOperatorOnce(bin, kubeconfig, logPath string, flags []string) (*Operator, error) {
	metricsAddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	probeAddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"--metrics-bind-address=" + metricsAddr, "--health-probe-bind-address=" + probeAddr}, flags...)
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start operator: %w", err)
	}
	op := &Operator{cmd: cmd, logPath: logPath, done: make(chan struct{}), MetricsURL: "http://" + metricsAddr + "/metrics"}
	go func() { _ = cmd.Wait(); close(op.done) }()
	if err := op.waitServing(); err != nil {
		op.Kill()
		return op, err
	}
	return op, nil
}

// waitServing waits until the metrics endpoint answers.
func (o *Operator) waitServing() error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if o.Exited() {
			return fmt.Errorf("operator exited at start; log %s", o.logPath)
		}
		if resp, err := http.Get(o.MetricsURL); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-o.done:
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("operator metrics at %s not serving after 30s", o.MetricsURL)
}

// LogPath is the file holding the operator's output.
func (o *Operator) LogPath() string { return o.logPath }

// Exited reports whether the operator process has ended.
func (o *Operator) Exited() bool {
	select {
	case <-o.done:
		return true
	default:
		return false
	}
}

// FreeAddr reserves a loopback address for a child process to listen on.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
