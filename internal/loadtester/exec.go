package loadtester

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Executor starts programs. The Runner depends on this interface rather than on os/exec so
// tests can prove that a refused request never reaches it.
type Executor interface {
	// LookPath resolves a program name to the file that would run.
	LookPath(program string) (string, error)
	// Run executes path with args, writes its combined output to out and returns when it has
	// exited. Cancelling ctx must stop the program and everything it started.
	Run(ctx context.Context, path string, args []string, out io.Writer) error
}

// ProcessExecutor runs each command as the leader of a new process group, so a timeout or a
// shutdown can stop the command together with any children it forked (hey's workers, the
// processes of a bash script), not just the direct child.
type ProcessExecutor struct {
	// KillGrace is how long a cancelled command has between SIGTERM and SIGKILL.
	KillGrace time.Duration
}

// LookPath finds program on PATH. Programs are never resolved relative to the working
// directory (os/exec refuses that), so a file dropped next to the service cannot shadow one.
func (e ProcessExecutor) LookPath(program string) (string, error) {
	path, err := exec.LookPath(program)
	if err != nil {
		return "", fmt.Errorf("look up %q on PATH: %w", program, err)
	}
	return path, nil
}

// Run executes the program directly (no shell) and waits for it.
func (e ProcessExecutor) Run(ctx context.Context, path string, args []string, out io.Writer) error {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// On cancellation ask the whole group to stop; WaitDelay then escalates to SIGKILL for
	// the leader and closes the output pipes if the group does not exit in time.
	cmd.Cancel = func() error { return signalGroup(cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = max(e.KillGrace, 100*time.Millisecond)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", path, err)
	}
	err := cmd.Wait()
	// The leader is gone; make sure nothing it left running in its group outlives it.
	_ = signalGroup(cmd.Process.Pid, syscall.SIGKILL)
	if err != nil {
		return fmt.Errorf("run %s: %w", path, err)
	}
	return nil
}

// signalGroup signals the process group led by pid. A group that is already gone is not an
// error: that is the outcome we want.
func signalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process group %d: %w", pid, err)
	}
	return nil
}

// cappedBuffer keeps the first limit bytes of a command's output. It accepts and drops the
// rest instead of failing the write, so a chatty command is not killed by a broken pipe.
type cappedBuffer struct {
	mu        sync.Mutex
	buf       []byte
	limit     int
	truncated bool
}

func newCappedBuffer(limit int) *cappedBuffer { return &cappedBuffer{limit: limit} }

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	room := b.limit - len(b.buf)
	if room < len(p) {
		b.truncated = true
		p = p[:max(room, 0)]
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

// String returns the captured output, marked when some of it was dropped.
func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.truncated {
		return string(b.buf) + "\n[output truncated]"
	}
	return string(b.buf)
}
