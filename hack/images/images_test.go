package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/serin-dev/serin/test/cluster"
)

// testOptions build for this machine's architecture with fixed labels.
func testOptions(t *testing.T, out string) Options {
	t.Helper()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		Root: root, Out: out, Version: "v0.0.0-test", Revision: "0123456789abcdef", Source: "https://example.invalid/serin",
		Created:   time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Platforms: []Platform{{OS: "linux", Architecture: runtime.GOARCH}},
	}
}

// Both images are built twice into different folders: the digests are the
// same, the config runs the program as the non-root user with the labels,
// and the binaries taken out of the layers run.
func TestImagesAreReproducibleNonRootAndRun(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	a, err := Build(testOptions(t, first))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(testOptions(t, second))
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("built %d and %d images, want 2 each", len(a), len(b))
	}
	for i := range a {
		if a[i].Digest != b[i].Digest {
			t.Errorf("%s: digest %s, then %s from the same source", a[i].Name, a[i].Digest, b[i].Digest)
		}
	}
	for _, built := range a {
		t.Run(built.Name, func(t *testing.T) {
			img, err := tarball.ImageFromPath(built.Tarball, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkConfig(t, img, built.Name)
			dir := t.TempDir()
			programs := map[string]string{"serin": "serin version v0.0.0-test", "serin-loadtester": "serin-loadtester version v0.0.0-test"}
			extract(t, img, dir)
			out, err := exec.Command(filepath.Join(dir, "usr/local/bin", built.Name), "-version").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != programs[built.Name] {
				t.Errorf("%s -version: %q, %v; want %q", built.Name, out, err, programs[built.Name])
			}
			if built.Name == "serin-loadtester" {
				checkLoadGenerators(t, dir)
			}
		})
	}
	for _, b := range a {
		checkLayout(t, filepath.Join(first, b.Name), b)
	}
}

func checkConfig(t *testing.T, img v1.Image, name string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", c.User)
	}
	if len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/usr/local/bin/"+name {
		t.Errorf("entrypoint %q, want /usr/local/bin/%s", c.Entrypoint, name)
	}
	want := map[string]string{
		"org.opencontainers.image.version":  "v0.0.0-test",
		"org.opencontainers.image.revision": "0123456789abcdef",
		"org.opencontainers.image.source":   "https://example.invalid/serin",
		"org.opencontainers.image.created":  "2026-11-25T12:00:00Z",
		"org.opencontainers.image.title":    name,
	}
	for k, v := range want {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	env := strings.Join(c.Env, " ")
	if !strings.Contains(env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt") || !strings.Contains(env, "PATH=/usr/local/bin:") {
		t.Errorf("env %q lacks the CA bundle or PATH", c.Env)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || !cf.Created.Equal(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("platform %s/%s created %s", cf.OS, cf.Architecture, cf.Created)
	}
}

// extract writes the image's regular files under dir and checks the
// ownership and the files every image needs.
func extract(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	seen := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen[strings.TrimSuffix(h.Name, "/")] = h
		if h.Typeflag != tar.TypeReg {
			continue
		}
		p := filepath.Join(dir, h.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, os.FileMode(h.Mode)); err != nil {
			t.Fatal(err)
		}
	}
	passwd, _ := os.ReadFile(filepath.Join(dir, "etc/passwd"))
	if !strings.Contains(string(passwd), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no nonroot user 65532:\n%s", passwd)
	}
	if h := seen["etc/ssl/certs/ca-certificates.crt"]; h == nil || h.Size < 1000 {
		t.Errorf("no CA bundle in the image")
	}
	if h := seen["tmp"]; h == nil || h.Mode&0o1777 != 0o1777 {
		t.Errorf("/tmp is missing or not world-writable with the sticky bit")
	}
}

// checkLoadGenerators runs hey and ghz from the image: the load tester's
// cmd webhooks need hey on PATH.
func checkLoadGenerators(t *testing.T, dir string) {
	t.Helper()
	bin := filepath.Join(dir, "usr/local/bin")
	if out, err := exec.Command(filepath.Join(bin, "hey")).CombinedOutput(); !strings.Contains(string(out), "Usage: hey") {
		t.Errorf("hey from the image: %v\n%s", err, out)
	}
	if out, err := exec.Command(filepath.Join(bin, "ghz"), "--version").CombinedOutput(); err != nil {
		t.Errorf("ghz --version from the image: %v\n%s", err, out)
	}
}

// checkLayout reads the image back from its OCI layout: one index, tagged
// <name>:<version>, whose manifest is the built image.
func checkLayout(t *testing.T, dir string, b Built) {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("layout %s: %v entries, %v; want one index", dir, m, err)
	}
	if ref := m.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; ref != b.Name+":v0.0.0-test" {
		t.Errorf("layout %s is tagged %q, want %s:v0.0.0-test", dir, ref, b.Name)
	}
	child, err := idx.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := child.IndexManifest()
	if err != nil || len(cm.Manifests) != 1 || cm.Manifests[0].Digest != b.Digest || cm.Manifests[0].Platform.Architecture != runtime.GOARCH {
		t.Errorf("index of %s: %+v, %v; want the one image %s for %s", b.Name, cm, err, b.Digest, runtime.GOARCH)
	}
}
