package loadtester

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// testServer is a load tester behind an httptest server.
type testServer struct {
	*Server
	http *httptest.Server
}

// serverOption changes the configuration or wiring of a test server.
type serverOption func(*serverSetup)

type serverSetup struct {
	cfg   Config
	store GateStore
	opts  []Option
}

func withConfig(change func(*Config)) serverOption {
	return func(s *serverSetup) { change(&s.cfg) }
}

func withStore(store GateStore) serverOption {
	return func(s *serverSetup) { s.store = store }
}

func withExecutor(e Executor) serverOption {
	return func(s *serverSetup) { s.opts = append(s.opts, WithExecutor(e)) }
}

// newTestServer starts a load tester with the default configuration, a short kill grace and a
// file store in a temporary directory. Running commands are stopped when the test ends.
func newTestServer(t *testing.T, options ...serverOption) *testServer {
	t.Helper()
	setup := serverSetup{cfg: DefaultConfig()}
	setup.cfg.KillGrace = 200 * time.Millisecond
	for _, o := range options {
		o(&setup)
	}
	if setup.store == nil {
		store, err := OpenFileStore(filepath.Join(t.TempDir(), "gates.json"), 100)
		if err != nil {
			t.Fatalf("open file store: %v", err)
		}
		setup.store = store
	}
	srv, err := NewServer(setup.cfg, setup.store, setup.opts...)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	ts := &testServer{Server: srv, http: httptest.NewServer(srv.Handler())}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		ts.http.Close()
	})
	return ts
}

// gateStores make each kind of gate store, empty, with a limit of maxOpen open gates.
func gateStores(maxOpen int) map[string]func(t *testing.T) GateStore {
	return map[string]func(t *testing.T) GateStore{
		"file store": func(t *testing.T) GateStore {
			s, err := OpenFileStore(filepath.Join(t.TempDir(), "gates.json"), maxOpen)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"configmap store": func(*testing.T) GateStore {
			return NewConfigMapStore(fake.NewClientBuilder().Build(), "loadtester", "gates", maxOpen)
		},
	}
}

// serving runs Serve with cfg and a file store on a loopback port. stop cancels Serve's context
// and returns what Serve returned.
func serving(t *testing.T, cfg Config) (addr string, srv *Server, stop func() error) {
	t.Helper()
	store, err := OpenFileStore(filepath.Join(t.TempDir(), "gates.json"), cfg.MaxGates)
	if err != nil {
		t.Fatal(err)
	}
	srv, err = NewServer(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-served:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("Serve did not return within 10s of the shutdown signal")
		}
	}
	t.Cleanup(func() { _ = stop() })
	return ln.Addr().String(), srv, stop
}

// post sends body to path and returns the status and the reply text.
func (ts *testServer) post(t *testing.T, path, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(ts.http.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read reply of POST %s: %v", path, err)
	}
	return resp.StatusCode, string(data)
}

// metric sums the samples of a metric family whose labels include all of labels.
func (ts *testServer) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	families, err := ts.registry.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			matched := 0
			for _, l := range m.GetLabel() {
				if want[l.GetName()] == l.GetValue() {
					matched++
				}
			}
			if matched == len(want) {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// payloadOption sets a field of a webhook payload.
type payloadOption func(*Payload)

func withMeta(kv ...string) payloadOption {
	return func(p *Payload) {
		if p.Metadata == nil {
			p.Metadata = map[string]string{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Metadata[kv[i]] = kv[i+1]
		}
	}
}

func withNamespace(ns string) payloadOption { return func(p *Payload) { p.Namespace = ns } }

func withName(name string) payloadOption { return func(p *Payload) { p.Name = name } }

// payload returns the JSON the controller would send for podinfo in namespace test.
func payload(options ...payloadOption) string {
	p := Payload{Name: "podinfo", Namespace: "test", Phase: "Progressing", Checksum: "abc"}
	for _, o := range options {
		o(&p)
	}
	data, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return string(data)
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeExecutor records what it is asked to run. Each Run blocks until release is closed (or
// the context ends), so tests control how long "commands" run.
type fakeExecutor struct {
	mu      sync.Mutex
	lookups []string
	runs    [][]string
	release chan struct{}
	err     error // returned by every Run
}

func newFakeExecutor() *fakeExecutor { return &fakeExecutor{release: make(chan struct{})} }

func (f *fakeExecutor) LookPath(program string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups = append(f.lookups, program)
	return "/fake/bin/" + program, nil
}

func (f *fakeExecutor) Run(ctx context.Context, path string, args []string, out io.Writer) error {
	f.mu.Lock()
	f.runs = append(f.runs, append([]string{path}, args...))
	f.mu.Unlock()
	select {
	case <-f.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	_, _ = io.WriteString(out, "fake output")
	return f.err
}

func (f *fakeExecutor) calls() (lookups, runs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.lookups), len(f.runs)
}

// spyExecutor counts calls and then really executes, so a refusal that failed would leave
// evidence on disk as well as in the count.
type spyExecutor struct {
	ProcessExecutor
	mu    sync.Mutex
	calls []string
}

func (s *spyExecutor) LookPath(program string) (string, error) {
	s.mu.Lock()
	s.calls = append(s.calls, "lookpath "+program)
	s.mu.Unlock()
	return s.ProcessExecutor.LookPath(program)
}

func (s *spyExecutor) Run(ctx context.Context, path string, args []string, out io.Writer) error {
	s.mu.Lock()
	s.calls = append(s.calls, "run "+path+" "+strings.Join(args, " "))
	s.mu.Unlock()
	return s.ProcessExecutor.Run(ctx, path, args, out)
}
