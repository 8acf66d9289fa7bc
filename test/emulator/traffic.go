package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Roles of the Service a request was sent to, from Flagger's naming.
const (
	RolePrimary = "primary" // <svc>-primary
	RoleCanary  = "canary"  // <svc>-canary
)

// TrafficKey groups the requests that reached pods.
type TrafficKey struct {
	// Namespace of the pod.
	Namespace string `json:"namespace"`
	// Host is the virtual host called, e.g. podinfo.test.
	Host string `json:"host"`
	// Deployment of the pod that answered.
	Deployment string `json:"deployment"`
	// Role is RolePrimary or RoleCanary when the request was routed to a
	// <svc>-primary or <svc>-canary Service, else empty.
	Role string `json:"role,omitempty"`
	// Mirrored marks copies of requests (Istio mirroring), whose answers
	// go nowhere; they do not count in Split.
	Mirrored bool `json:"mirrored,omitempty"`
}

// TrafficCount is the number of requests of a key.
type TrafficCount struct {
	TrafficKey
	// Requests were sent to a pod of the key. They are counted when the
	// pod is chosen, not when it answers, so that a slow request (/delay)
	// counts for the split it was routed by.
	Requests int64 `json:"requests"`
	// Errors is how many of them were answered with a 5xx.
	Errors int64 `json:"errors"`
}

// Unrouted counts requests that reached no pod, by host and answer.
type Unrouted struct {
	Host     string `json:"host"`
	Code     int    `json:"code"`
	Requests int64  `json:"requests"`
}

// Report is everything the emulator has routed since it started.
type Report struct {
	Counts   []TrafficCount `json:"counts"`
	Unrouted []Unrouted     `json:"unrouted,omitempty"`
}

// ledger records the requests as they are routed.
type ledger struct {
	mu       sync.Mutex
	counts   map[TrafficKey]*TrafficCount
	unrouted map[Unrouted]int64
}

func newLedger() *ledger {
	return &ledger{counts: map[TrafficKey]*TrafficCount{}, unrouted: map[Unrouted]int64{}}
}

// sent counts a request routed to a pod of k.
func (l *ledger) sent(k TrafficKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.counts[k]
	if !ok {
		c = &TrafficCount{TrafficKey: k}
		l.counts[k] = c
	}
	c.Requests++
}

// answered records the response to a request counted by sent.
func (l *ledger) answered(k TrafficKey, code int) {
	if code < 500 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.counts[k]; ok {
		c.Errors++
	}
}

func (l *ledger) addUnrouted(host string, code int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unrouted[Unrouted{Host: host, Code: code}]++
}

func (l *ledger) report() Report {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := Report{}
	for _, c := range l.counts {
		r.Counts = append(r.Counts, *c)
	}
	for k, n := range l.unrouted {
		k.Requests = n
		r.Unrouted = append(r.Unrouted, k)
	}
	sort.Slice(r.Counts, func(i, j int) bool {
		a, b := r.Counts[i].TrafficKey, r.Counts[j].TrafficKey
		return a.Namespace+a.Host+a.Deployment < b.Namespace+b.Host+b.Deployment
	})
	sort.Slice(r.Unrouted, func(i, j int) bool {
		return fmt.Sprint(r.Unrouted[i].Host, r.Unrouted[i].Code) < fmt.Sprint(r.Unrouted[j].Host, r.Unrouted[j].Code)
	})
	return r
}

// Split is how many requests reached canary and primary pods.
type Split struct {
	Canary, Primary int64
}

// Total is the number of requests of the split.
func (s Split) Total() int64 { return s.Canary + s.Primary }

// CanaryPercent is the canary's share in percent; 0 without requests.
func (s Split) CanaryPercent() float64 {
	if s.Total() == 0 {
		return 0
	}
	return 100 * float64(s.Canary) / float64(s.Total())
}

// Sub returns the requests of s that came after before.
func (s Split) Sub(before Split) Split {
	return Split{Canary: s.Canary - before.Canary, Primary: s.Primary - before.Primary}
}

// Split sums the requests to host (e.g. podinfo.test, any port) by the
// role of the Service they were routed to.
func (r Report) Split(host string) Split {
	host = normalizeHost(host)
	var s Split
	for _, c := range r.Counts {
		if c.Host != host || c.Mirrored {
			continue
		}
		switch c.Role {
		case RoleCanary:
			s.Canary += c.Requests
		case RolePrimary:
			s.Primary += c.Requests
		}
	}
	return s
}

// Mirrored counts the copies of requests to host that were mirrored to
// the pods of a role.
func (r Report) Mirrored(host, role string) int64 {
	host = normalizeHost(host)
	var n int64
	for _, c := range r.Counts {
		if c.Host == host && c.Role == role && c.Mirrored {
			n += c.Requests
		}
	}
	return n
}

// Deployment sums the requests, to any host, that reached the pods of a
// Deployment.
func (r Report) Deployment(namespace, name string) int64 {
	var n int64
	for _, c := range r.Counts {
		if c.Namespace == namespace && c.Deployment == name {
			n += c.Requests
		}
	}
	return n
}

// roleOf tells the role of a Service from Flagger's names.
func roleOf(service string) string {
	switch {
	case strings.HasSuffix(service, "-primary"):
		return RolePrimary
	case strings.HasSuffix(service, "-canary"):
		return RoleCanary
	default:
		return ""
	}
}

// FetchReport reads the report from an emulator's admin address
// (http://host:port).
func FetchReport(ctx context.Context, adminURL string) (Report, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(adminURL, "/")+"/debug/traffic", nil)
	if err != nil {
		return Report{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Report{}, fmt.Errorf("fetch the emulator's traffic report: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Report{}, fmt.Errorf("fetch the emulator's traffic report: %s", resp.Status)
	}
	var r Report
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return Report{}, fmt.Errorf("decode the emulator's traffic report: %w", err)
	}
	return r, nil
}
