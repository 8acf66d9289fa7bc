package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The images run as this user and group, as distroless "nonroot" images do.
const (
	nonRootID   = 65532
	nonRootName = "nonroot"
)

// caBundle is where Debian's ca-certificates package keeps the bundle; the
// images carry it at the same path, where Go looks first.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// file is one entry of a layer.
type file struct {
	mode     int64
	uid, gid int
	data     []byte
	dir      bool
}

// baseFiles are the root filesystem every image shares: the users, the CA
// bundle, a writable /tmp and the non-root user's home.
func baseFiles() (map[string]file, error) {
	certs, err := os.ReadFile(caBundle)
	if err != nil {
		return nil, fmt.Errorf("read the CA bundle (apt-get install ca-certificates): %w", err)
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n",
		nonRootName, nonRootID, nonRootID, nonRootName, nonRootName)
	group := fmt.Sprintf("root:x:0:\n%s:x:%d:\n", nonRootName, nonRootID)
	return map[string]file{
		"etc/passwd":          {mode: 0o644, data: []byte(passwd)},
		"etc/group":           {mode: 0o644, data: []byte(group)},
		caBundle[1:]:          {mode: 0o644, data: certs},
		"tmp":                 {mode: 0o1777, dir: true},
		"home/" + nonRootName: {mode: 0o700, dir: true, uid: nonRootID, gid: nonRootID},
		"root":                {mode: 0o700, dir: true},
		"usr/local/bin":       {mode: 0o755, dir: true},
		"etc/ssl/certs":       {mode: 0o755, dir: true},
		"var/run":             {mode: 0o755, dir: true},
		"home":                {mode: 0o755, dir: true},
	}, nil
}

// binaryFiles puts programs under /usr/local/bin.
func binaryFiles(paths map[string]string) (map[string]file, error) {
	out := map[string]file{}
	for name, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out["usr/local/bin/"+name] = file{mode: 0o755, data: data}
	}
	return out, nil
}

// layer writes files as a gzip-compressed OCI layer. Entries are sorted,
// parent folders are added, and every time is mtime, so the same files give
// the same digest.
func layer(files map[string]file, mtime time.Time) (v1.Layer, error) {
	all := map[string]file{}
	for name, f := range files {
		all[name] = f
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if _, ok := files[dir]; !ok {
				all[dir] = file{mode: 0o755, dir: true}
			}
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		f := all[n]
		h := &tar.Header{Name: n, Mode: f.mode, Uid: f.uid, Gid: f.gid, ModTime: mtime, Format: tar.FormatPAX}
		if f.dir {
			h.Typeflag, h.Name = tar.TypeDir, n+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
