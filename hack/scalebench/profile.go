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
	query := "profile?seconds=" + strconv.Itoa(p.seconds)
	go func() {
		p.save(ctx, "operator-cpu.pprof", http.DefaultClient, "http://"+p.operator+"/debug/pprof/"+query)
		done <- struct{}{}
	}()
	go func() {
		// kube-apiserver serves it with --profiling, its default, to the
		// cluster's admin.
		cfg := rest.CopyConfig(p.api)
		cfg.Timeout = 0
		hc, err := rest.HTTPClientFor(cfg)
		if err != nil {
			logf("profile apiserver-cpu.pprof: %v", err)
		} else {
			p.save(ctx, "apiserver-cpu.pprof", hc, cfg.Host+"/debug/pprof/"+query)
		}
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
	p.save(ctx, "operator-heap.pprof", http.DefaultClient, "http://"+p.operator+"/debug/pprof/heap?gc=1")
}

// save writes the profile at url to name; a failure is logged, not fatal:
// the figures of the run do not depend on it.
func (p *profiler) save(ctx context.Context, name string, hc *http.Client, url string) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(p.seconds)*time.Second+time.Minute)
	defer cancel()
	if err := p.fetch(ctx, hc, url, filepath.Join(p.dir, name)); err != nil {
		logf("profile %s: %v", name, err)
		return
	}
	logf("profile saved: %s", filepath.Join(p.dir, name))
}

func (p *profiler) fetch(ctx context.Context, hc *http.Client, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}
