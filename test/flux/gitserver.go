// Package flux runs real Flux on the local control plane for the GitOps
// tests and demo: a git server on loopback (git's own http-backend behind
// Go's CGI handler) holding the application's repository, and Flux's
// source-controller and kustomize-controller (built by hack/build-tools.sh)
// as local processes with an identity of their own, reconciling a
// GitRepository and a Kustomization.
package flux

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// GitServer serves the bare repositories under its directory over HTTP,
// for fetches (Flux) and pushes (the tests' commits).
type GitServer struct {
	// URL is the server's base URL; a repository is URL/<name>.git.
	URL    string
	root   string
	server *http.Server
}

// StartGitServer serves dir/repos on a free loopback port.
func StartGitServer(dir string) (*GitServer, error) {
	git, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("git is not installed: %w", err)
	}
	root := filepath.Join(dir, "repos")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &cgi.Handler{Path: git, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	s := &GitServer{URL: "http://" + l.Addr().String(), root: root, server: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.server.Serve(l) }()
	return s, nil
}

// Stop closes the server.
func (s *GitServer) Stop() { _ = s.server.Close() }

// Repo is a repository on the server with a working copy to commit from.
type Repo struct {
	// URL is what a GitRepository's spec.url names.
	URL    string
	Branch string
	work   string
}

// NewRepo creates the bare repository name.git (pushes allowed) and a
// working copy of it under work.
func (s *GitServer) NewRepo(ctx context.Context, name, work string) (*Repo, error) {
	bare := filepath.Join(s.root, name+".git")
	r := &Repo{URL: s.URL + "/" + name + ".git", Branch: "main", work: work}
	steps := [][]string{
		{"init", "--quiet", "--bare", "--initial-branch=main", bare},
		{"-C", bare, "config", "http.receivepack", "true"},
		{"init", "--quiet", "--initial-branch=main", work},
		{"-C", work, "remote", "add", "origin", r.URL},
	}
	for _, args := range steps {
		if _, err := runGit(ctx, "", args...); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Commit writes files (path relative to the repository → content; nil
// content deletes the file), commits them with message and pushes to the
// server. It returns the commit's SHA.
func (r *Repo) Commit(ctx context.Context, message string, files map[string][]byte) (string, error) {
	for path, data := range files {
		full := filepath.Join(r.work, path)
		if data == nil {
			if _, err := runGit(ctx, r.work, "rm", "--quiet", "--ignore-unmatch", path); err != nil {
				return "", err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return "", err
		}
		if _, err := runGit(ctx, r.work, "add", path); err != nil {
			return "", err
		}
	}
	if _, err := runGit(ctx, r.work, "commit", "--quiet", "--allow-empty", "-m", message); err != nil {
		return "", err
	}
	if _, err := runGit(ctx, r.work, "push", "--quiet", "origin", r.Branch); err != nil {
		return "", err
	}
	return r.Head(ctx)
}

// runGit runs git in dir with a fixed identity and no user configuration.
func runGit(ctx context.Context, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Serin tests", "GIT_AUTHOR_EMAIL=tests@serin.invalid",
		"GIT_COMMITTER_NAME=Serin tests", "GIT_COMMITTER_EMAIL=tests@serin.invalid")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", errors.New("git " + strings.Join(args, " ") + ": " + err.Error() + ": " + strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Head returns the SHA of the working copy's last commit.
func (r *Repo) Head(ctx context.Context) (string, error) {
	sha, err := runGit(ctx, r.work, "rev-parse", "HEAD")
	return strings.TrimSpace(sha), err
}
