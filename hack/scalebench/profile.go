package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"

	"github.com/serin-dev/serin/test/framework"
)

// profiler takes CPU profiles of the operator and the API server over the
// same window, and the operator's heap, into dir: where one step's time
// goes while the whole fleet releases.
type profiler struct {
	dir      string
	seconds  int
	operator string // the operator's pprof address, host:port
	api      *rest.Config
}

// newProfiler is nil (no profiles) without -profile; with it, the operator
// is started with -pprof-bind-address on a free local port (flags).
func newProfiler(o options, api *rest.Config) (*profiler, []string, error) {
	if o.profileDir == "" {
		return nil, nil, nil
	}
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		return nil, nil, err
	}
	addr, err := framework.FreeAddr()
	if err != nil {
		return nil, nil, err
	}
	return &profiler{dir: o.profileDir, seconds: o.profileSeconds, operator: addr, api: api}, []string{"-pprof-bind-address=" + addr}, nil
}

// cpu starts both CPU profiles now and returns a wait for them.
func (p *profiler) cpu(ctx context.Context) func() {
	if p == nil {
		return func() {}
	}
	done := make(chan struct{}, 2)
	seconds := strconv.Itoa(p.seconds)
	go func() {
		p.save(ctx, "operator-cpu.pprof", func(ctx context.Context) (io.ReadCloser, error) {
			return p.operatorProfile(ctx, "profile?seconds="+seconds)
		})
		done <- struct{}{}
	}()
	go func() {
		p.save(ctx, "apiserver-cpu.pprof", func(ctx context.Context) (io.ReadCloser, error) {
			return p.apiServerProfile(ctx, seconds)
		})
		done <- struct{}{}
	}()
	logf("profiling the operator and the API server for %ds into %s", p.seconds, p.dir)
	return func() { <-done; <-done }
}

// heap saves the operator's live heap.
func (p *profiler) heap(ctx context.Context) {
	if p == nil {
		return
	}
	p.save(ctx, "operator-heap.pprof", func(ctx context.Context) (io.ReadCloser, error) {
		return p.operatorProfile(ctx, "heap?gc=1")
	})
}

func (p *profiler) operatorProfile(ctx context.Context, query string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.operator+"/debug/pprof/"+query, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("operator pprof %s: %s", query, resp.Status)
	}
	return resp.Body, nil
}

// apiServerProfile reads kube-apiserver's /debug/pprof/profile (served
// with --profiling, its default) as the cluster's admin.
func (p *profiler) apiServerProfile(ctx context.Context, seconds string) (io.ReadCloser, error) {
	cfg := rest.CopyConfig(p.api)
	cfg.Timeout = 0
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+"/debug/pprof/profile?seconds="+seconds, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("kube-apiserver pprof: %s", resp.Status)
	}
	return resp.Body, nil
}

// save writes one profile; a failure is logged, not fatal: the figures
// of the run do not depend on it.
func (p *profiler) save(ctx context.Context, name string, open func(context.Context) (io.ReadCloser, error)) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(p.seconds)*time.Second+time.Minute)
	defer cancel()
	body, err := open(ctx)
	if err != nil {
		logf("profile %s: %v", name, err)
		return
	}
	defer body.Close()
	path := filepath.Join(p.dir, name)
	f, err := os.Create(path)
	if err != nil {
		logf("profile %s: %v", name, err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, body); err != nil {
		logf("profile %s: %v", name, err)
		return
	}
	logf("profile saved: %s", path)
}
