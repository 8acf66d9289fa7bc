package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// programs are the packages the stack builds, by binary name.
var programs = map[string]string{
	"serin":            "./cmd/serin",
	"serin-loadtester": "./cmd/serin-loadtester",
	"mesh-emulator":    "./test/emulator/cmd/mesh-emulator",
	"podinfo":          "./test/podinfo/cmd/podinfo",
}

// build compiles the operator, the load tester, the emulator and the
// backend in one go build into a shared directory, then links them into
// <dir>/bin. go build does not relink a binary whose build ID is up to
// date, so the shared directory makes a second run (or a second test
// package) start at once; a file lock keeps concurrent runs from building
// into it together, and the links keep each run's binaries when another
// run replaces them.
func (s *Stack) build(ctx context.Context) error {
	start := time.Now()
	shared, err := sharedBinDir()
	if err != nil {
		return err
	}
	unlock, err := lockDir(shared)
	if err != nil {
		return err
	}
	defer unlock()
	args := []string{"build", "-o", shared + "/"}
	for _, pkg := range programs {
		args = append(args, pkg)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = s.Root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	bin := filepath.Join(s.Dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	for name := range programs {
		if err := linkOrCopy(filepath.Join(shared, name), filepath.Join(bin, name)); err != nil {
			return err
		}
	}
	s.Bins = Binaries{
		Serin: filepath.Join(bin, "serin"), LoadTester: filepath.Join(bin, "serin-loadtester"),
		Emulator: filepath.Join(bin, "mesh-emulator"), Podinfo: filepath.Join(bin, "podinfo"),
	}
	s.logf("Built serin, serin-loadtester, mesh-emulator and podinfo in %.1fs", time.Since(start).Seconds())
	return nil
}

// sharedBinDir is ${SERIN_CACHE:-~/.cache/serin}/stack-bin, beside the
// control plane's binaries that hack/build-tools.sh caches.
func sharedBinDir() (string, error) {
	cache := os.Getenv("SERIN_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(home, ".cache", "serin")
	}
	dir := filepath.Join(cache, "stack-bin")
	return dir, os.MkdirAll(dir, 0o755)
}

// lockDir takes an exclusive lock on dir/.lock until unlock is called.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// linkOrCopy hard-links src to dst, copying when they are on different
// file systems.
func linkOrCopy(src, dst string) error {
	_ = os.Remove(dst)
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
