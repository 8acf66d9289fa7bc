package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is a program of the local stack (a control-plane component, or
// a helper of the demo), running in its own process group with its output
// in dir/logs/<name>.log and its pid in dir/pids/<name>.
type Process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartProcess starts bin with args in dir. A detached process starts its
// own session and outlives its parent (make cluster-up); otherwise the
// kernel kills it when the parent dies, so a crashed or killed test leaves
// nothing.
func StartProcess(dir, name, bin string, args []string, env []string, detached bool) (*Process, error) {
	logDir := filepath.Join(dir, "logs")
	pidDir := filepath.Join(dir, "pids")
	for _, d := range []string{logDir, pidDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	logFile, err := os.OpenFile(filepath.Join(logDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if detached {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(pidDir, name), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}
	p := &Process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Name is the process's name in logs/ and pids/.
func (p *Process) Name() string { return p.name }

// Stop ends the process's group: SIGTERM, then SIGKILL after grace, so
// children it started (the load tester's hey) go too.
func (p *Process) Stop(grace time.Duration) {
	stopPID(p.cmd.Process.Pid, grace)
	<-p.done
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stopPID ends the process group led by pid: SIGTERM, then SIGKILL after
// grace. It returns once no process of the group is left.
func stopPID(pid int, grace time.Duration) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for groupAlive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			deadline = time.Now().Add(grace)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// groupAlive reports whether any process of the group pgid still runs
// (zombies excluded: their parent reaps them).
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name: state ppid pgrp ...
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 3 || fields[0] == "Z" {
			continue
		}
		if g, _ := strconv.Atoi(fields[2]); g == pgid && pid > 0 {
			return true
		}
	}
	return false
}

// ProcessesUsing lists the pids of live processes whose command line
// mentions path; a stopped cluster leaves none for its directory.
func ProcessesUsing(path string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), path) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			s := string(stat)
			if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) > 0 && f[0] == "Z" {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// StopDir stops every component whose pid file is under dir, newest first,
// and removes the pid files. It is what make cluster-down runs.
func StopDir(dir string) error {
	pidDir := filepath.Join(dir, "pids")
	for _, name := range reverse(componentOrder) {
		file := filepath.Join(pidDir, name)
		data, err := os.ReadFile(file)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			return fmt.Errorf("pid file %s: %w", file, err)
		}
		stopPID(pid, 5*time.Second)
		if err := os.Remove(file); err != nil {
			return err
		}
	}
	return nil
}

func reverse(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[len(in)-1-i] = s
	}
	return out
}

// RunningComponents lists the components of dir whose pid file names a
// live process group.
func RunningComponents(dir string) []string {
	var out []string
	for _, name := range componentOrder {
		data, err := os.ReadFile(filepath.Join(dir, "pids", name))
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && groupAlive(pid) {
			out = append(out, name)
		}
	}
	return out
}
