package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/cluster"
	"github.com/serin-dev/serin/test/framework"
)

// state is what the benchmark reads of one canary status, and when the
// watch delivered it.
type state struct {
	at           time.Time
	phase        flaggerv1.CanaryPhase
	revision     string
	lastAnalysis time.Time
}

// recorder keeps every state of every canary, as a watch delivers them.
type recorder struct {
	mu     sync.Mutex
	states map[string][]state
}

// record watches the fleet's canaries until ctx ends, watching again
// from the last version seen when the API server closes the watch.
func (f *fleet) record(ctx context.Context) *recorder {
	r := &recorder{states: map[string][]state{}}
	go func() {
		version := ""
		for ctx.Err() == nil {
			w, err := f.cl.Watch(ctx, &flaggerv1.CanaryList{}, client.InNamespace(namespace), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: version}})
			if err != nil {
				logf("watch canaries: %v", err)
				time.Sleep(time.Second)
				continue
			}
			for ev := range w.ResultChan() {
				c, ok := ev.Object.(*flaggerv1.Canary)
				if !ok || ev.Type == watch.Deleted {
					continue
				}
				version = c.ResourceVersion
				r.add(c)
			}
		}
	}()
	return r
}

func (r *recorder) add(c *flaggerv1.Canary) {
	s := state{at: time.Now(), phase: c.Status.Phase, revision: c.Status.LastAppliedSpec}
	if c.Status.LastAnalysis != nil {
		s.lastAnalysis = c.Status.LastAnalysis.Time.Time
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states[c.Name] = append(r.states[c.Name], s)
}

// count is the number of canaries whose latest state satisfies done.
func (r *recorder) count(done func(state) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ss := range r.states {
		if len(ss) > 0 && done(ss[len(ss)-1]) {
			n++
		}
	}
	return n
}

// release is what happened to the fleet in one release.
type release struct {
	detection []time.Duration
	lateness  []time.Duration
}

// analyse reads the states of the release of hashes written at written:
// the detection latency (write → first Progressing state of the revision)
// and the lateness of each analysis run after the first (time since the
// previous run − interval; both runs of the revision, in Progressing).
func (r *recorder) analyse(written map[string]time.Time, hashes map[string]string, interval time.Duration) release {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out release
	for name, at := range written {
		var prev *state
		detected := false
		for _, s := range r.states[name] {
			if s.at.Before(at) || s.revision != hashes[name] || s.phase != flaggerv1.CanaryPhaseProgressing {
				continue
			}
			if !detected {
				out.detection = append(out.detection, s.at.Sub(at))
				detected = true
			}
			if s.lastAnalysis.IsZero() || (prev != nil && s.lastAnalysis.Equal(prev.lastAnalysis)) {
				continue
			}
			if prev != nil {
				out.lateness = append(out.lateness, s.at.Sub(prev.at)-interval)
			}
			prev = &s
		}
	}
	return out
}

// percentile is the nearest-rank p-th percentile of d (sorted in place).
func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[(len(d)*p+99)/100-1]
}

// process reads the operator's peak RSS (VmHWM) and CPU seconds from /proc.
func process(pid int) (peakRSS int64, cpu float64, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			peakRSS = kb * 1024
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks (100 per second).
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return peakRSS, (utime + stime) / 100, nil
}

// results are one run's figures.
type results struct {
	initialize                   time.Duration
	idlePerCanaryPerInterval     float64
	perRelease                   float64
	released                     time.Duration
	release                      release
	rollback                     []time.Duration
	breakdown                    breakdown
	peakRSS                      int64
	cpuSeconds                   float64
	throttled                    int
	failed                       int
	loadStart, loadEnd           string
	idleRequests, releaseRequest int
	// releaseMix is the release's requests per canary by kind.
	releaseMix string
}

func (r *results) print(w io.Writer, o options) {
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" }
	fmt.Fprintf(w, "N=%d provider=%s interval=%s iterations=%d operator GOMEMLIMIT=%q, load average at start %s, at end %s\n", o.n, o.provider, o.interval, o.iterations, o.memoryLimit, r.loadStart, r.loadEnd)
	fmt.Fprintln(w, "| N | initialize all | idle requests / canary / interval | requests / canary / release | detection p50 / p99 | step lateness p50 / p99 | release done | peak RSS | CPU | throttling messages |")
	fmt.Fprintf(w, "| %d | %s | %.3f (%d in %d intervals) | %.1f | %s / %s | %s / %s | %s | %d MiB | %.1f s | %d |\n",
		o.n, r.initialize.Round(time.Second), r.idlePerCanaryPerInterval, r.idleRequests, o.idleWindow, r.perRelease,
		ms(percentile(r.release.detection, 50)), ms(percentile(r.release.detection, 99)),
		ms(percentile(r.release.lateness, 50)), ms(percentile(r.release.lateness, 99)),
		r.released.Round(time.Second), r.peakRSS>>20, r.cpuSeconds, r.throttled)
	fmt.Fprintf(w, "(%d detections, %d analysis runs timed; %d releases rolled back)\n", len(r.release.detection), len(r.release.lateness), r.failed)
	fmt.Fprintf(w, "requests / canary / release by kind: %s\n", r.releaseMix)
	if o.provider == gatewayProvider {
		fmt.Fprintf(w, "rollback decision (its status write done) → HTTPRoute 100/0 written, from the audit log, %d rollbacks: p50 %s, p99 %s, max %s\n",
			len(r.rollback), ms(percentile(r.rollback, 50)), ms(percentile(r.rollback, 99)), ms(percentile(r.rollback, 100)))
	}
	r.breakdown.print(w)
}

// operatorRequests is the number of requests the operator's user made so
// far, from the audit log.
func (f *fleet) operatorRequests() (int, error) {
	reqs, err := f.c.OperatorRequests()
	return len(reqs), err
}

// requestMix describes the operator's requests reqs per canary of n, by
// verb and resource, the most frequent first; conflicts (409) are counted
// apart.
func requestMix(reqs []cluster.Request, n int) string {
	counts := map[string]int{}
	for _, r := range reqs {
		kind := r.Verb + " " + r.Resource
		if r.Subresource != "" {
			kind += "/" + r.Subresource
		}
		if r.Code == http.StatusConflict {
			kind += " (409)"
		}
		counts[kind]++
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b string) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %.1f", k, float64(counts[k])/float64(n))
	}
	return strings.Join(parts, ", ")
}

// throttlingMessages counts client-go's client-side throttling lines.
func throttlingMessages(op *framework.Operator) int {
	return strings.Count(op.Log(), "client-side throttling")
}
