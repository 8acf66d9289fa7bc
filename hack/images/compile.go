package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// program is a binary an image carries.
type program struct {
	// name is the file name under /usr/local/bin.
	name string
	// module is the folder of the Go module that builds it, relative to
	// the repository root.
	module string
	// pkg is the package to build.
	pkg string
	// stampVersion sets main.version to the image version.
	stampVersion bool
}

// compile builds a static binary for the platform into dir and returns its
// path. -trimpath, no VCS stamp and an empty build ID make the output
// depend only on the source, the Go version and the flags.
func compile(o Options, p program, pl Platform, dir string) (string, error) {
	out := filepath.Join(dir, pl.OS+"-"+pl.Architecture, p.name)
	ldflags := "-s -w -buildid="
	if p.stampVersion {
		ldflags += " -X main.version=" + o.Version
	}
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, p.pkg)
	cmd.Dir = filepath.Join(o.Root, p.module)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+pl.OS, "GOARCH="+pl.Architecture, "GOFLAGS=-mod=readonly")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s for %s/%s: %w\n%s", p.pkg, pl.OS, pl.Architecture, err, strings.TrimSpace(string(msg)))
	}
	return out, nil
}
