// Command images builds Serin's container images without a Docker daemon:
// static Go binaries in a minimal root filesystem (passwd and group
// entries for the non-root user 65532, the CA bundle of this machine's
// Debian ca-certificates package), assembled with go-containerregistry.
// The same commit gives the same digests: file times and the image's
// creation time come from SOURCE_DATE_EPOCH or the commit's time.
//
// It writes to --out (build/images by default):
//
//	<name>/                 an OCI image layout per image: one index
//	                        (tagged <name>:<version>) with a manifest per
//	                        platform (crane push build/images/<name> REF)
//	<name>-<os>-<arch>.tar  docker-format tarballs (docker load, kind load
//	                        image-archive, crane push)
//
// Run it with `make images`.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/serin-dev/serin/test/cluster"
)

func main() {
	opts, err := parseOptions(os.Args[1:])
	if err == nil {
		var built []Built
		built, err = Build(opts)
		for _, b := range built {
			fmt.Printf("%s %s/%s %s %s\n", b.Name, b.Platform.OS, b.Platform.Architecture, b.Digest, b.Tarball)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "images: %v\n", err)
		os.Exit(1)
	}
}

func parseOptions(args []string) (Options, error) {
	root, err := cluster.RepoRoot()
	if err != nil {
		return Options{}, err
	}
	o := Options{Root: root}
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	fs.StringVar(&o.Out, "out", filepath.Join(root, "build", "images"), "output folder")
	fs.StringVar(&o.Version, "version", "", "image and binary version; default: git describe --tags --always --dirty")
	fs.StringVar(&o.Revision, "revision", "", "source revision label; default: the commit of HEAD")
	fs.StringVar(&o.Source, "source", "https://github.com/serin-dev/serin", "source repository label")
	platforms := fs.String("platforms", "linux/amd64", "comma-separated OS/ARCH list, e.g. linux/amd64,linux/arm64")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, p := range strings.Split(*platforms, ",") {
		os, arch, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok || os != "linux" || arch == "" {
			return o, fmt.Errorf("--platforms: %q is not linux/ARCH", p)
		}
		o.Platforms = append(o.Platforms, Platform{OS: os, Architecture: arch})
	}
	if o.Version == "" {
		if o.Version, err = git(root, "describe", "--tags", "--always", "--dirty"); err != nil {
			return o, err
		}
	}
	if o.Revision == "" {
		if o.Revision, err = git(root, "rev-parse", "HEAD"); err != nil {
			return o, err
		}
	}
	o.Created, err = sourceDate(root)
	return o, err
}

// sourceDate is SOURCE_DATE_EPOCH, or the time of the HEAD commit.
func sourceDate(root string) (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		var err error
		if s, err = git(root, "log", "-1", "--format=%ct"); err != nil {
			return time.Time{}, err
		}
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
