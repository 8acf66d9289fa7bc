package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Prometheus is a real Prometheus server (the Debian package) scraping
// targets every second.
type Prometheus struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
	// bin, args and logPath start it again after Stop.
	bin, logPath string
	args         []string
	// targetsPath lists the targets added after start (file_sd), which
	// Prometheus reads again when the file changes.
	targetsPath string
	mu          sync.Mutex
	added       []string
	// queryLog is Prometheus' log of the queries it ran (query_log_file),
	// so a test can see what the operator asked.
	queryLog string
}

// StartPrometheus runs prometheus from PATH with its data and log under
// dir, scraping targets (host:port) every second.
func StartPrometheus(dir string, targets ...string) (*Prometheus, error) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		return nil, fmt.Errorf("prometheus is not installed (apt-get install prometheus; .ci/run does it): %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	queryLog := filepath.Join(dir, "queries.log")
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  query_log_file: %q\n", queryLog)
	cfg += "scrape_configs:\n- job_name: static\n  static_configs:\n  - targets: ["
	for i, t := range targets {
		if i > 0 {
			cfg += ", "
		}
		cfg += fmt.Sprintf("%q", t)
	}
	targetsPath := filepath.Join(dir, "targets.json")
	if err := os.WriteFile(targetsPath, []byte("[]"), 0o644); err != nil {
		return nil, err
	}
	cfg += fmt.Sprintf("]\n- job_name: added\n  file_sd_configs:\n  - files: [%q]\n    refresh_interval: 1s\n", targetsPath)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	p := &Prometheus{
		URL: "http://" + addr, bin: bin, logPath: filepath.Join(dir, "prometheus.log"), targetsPath: targetsPath, queryLog: queryLog,
		args: []string{"--config.file=" + cfgPath, "--storage.tsdb.path=" + filepath.Join(dir, "data"), "--web.listen-address=" + addr, "--log.level=warn"},
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// Start runs Prometheus (again, after Stop: same address and data) and
// waits until it is ready.
func (p *Prometheus) Start() error {
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start prometheus: %w", err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(p.done)
	if err := p.waitReady(); err != nil {
		p.Stop()
		return err
	}
	return nil
}

func (p *Prometheus) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		select {
		case <-p.done:
			return fmt.Errorf("prometheus exited")
		case <-ctx.Done():
			return fmt.Errorf("prometheus not ready at %s", p.URL)
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
}

// Stop ends Prometheus.
func (p *Prometheus) Stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// AddTarget scrapes host:port too, from now on (every second, like the
// targets given at start), e.g. an operator's /metrics.
func (p *Prometheus) AddTarget(target string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.added = append(p.added, target)
	data, err := json.Marshal([]map[string][]string{{"targets": p.added}})
	if err != nil {
		return err
	}
	// Written whole and renamed, so Prometheus never reads half a file.
	tmp := p.targetsPath + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p.targetsPath)
}

// Queries are the PromQL expressions Prometheus has run so far, from
// every client, in order.
func (p *Prometheus) Queries() ([]string, error) {
	data, err := os.ReadFile(p.queryLog)
	if err != nil {
		return nil, fmt.Errorf("read the query log: %w", err)
	}
	var out []string
	for _, line := range bytes.Split(data, []byte("\n")) {
		var entry struct {
			Params struct {
				Query string `json:"query"`
			} `json:"params"`
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := json.Unmarshal(line, &entry); err != nil {
			// The last line may be half written.
			continue
		}
		out = append(out, entry.Params.Query)
	}
	return out, nil
}

// WaitForResult waits until an instant query returns a sample.
func (p *Prometheus) WaitForResult(ctx context.Context, query string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, detail := p.HasResult(ctx, query)
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no result within %s: %s", timeout, detail)
		case <-tick.C:
		}
	}
}

// HasResult reports whether an instant query returns at least one sample.
func (p *Prometheus) HasResult(ctx context.Context, query string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return false, err.Error()
	}
	return len(body.Data.Result) > 0, fmt.Sprintf("%d samples for %s", len(body.Data.Result), query)
}
