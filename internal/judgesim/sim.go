// Package judgesim simulates canary releases to compare the seed's fixed
// thresholds with the statistical judge (internal/judge) on the same
// generated traffic: for each traffic level and true effect it plays many
// releases under both policies and counts how many each rolls back.
package judgesim

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/serin-dev/serin/internal/judge"
)

// Settings describe the study.
type Settings struct {
	// Releases is the number of simulated releases per scenario.
	Releases int
	// Seed makes the study reproducible.
	Seed uint64
	// Interval is the analysis interval, the time between two looks.
	Interval time.Duration
	// MetricWindow is the range of the threshold metrics' queries.
	MetricWindow time.Duration
	// StepWeight and MaxWeight are the canary's weight steps in percent.
	StepWeight, MaxWeight int
	// Threshold is the number of failed checks that rolls back.
	Threshold int
	// MinSuccessRate (percent) and MaxP99 (milliseconds) are the fixed
	// thresholds of request-success-rate and request-duration.
	MinSuccessRate, MaxP99 float64
	// ErrorRate, LatencyMedian (ms) and LatencySigma describe the healthy
	// version: errors at that rate, log-normal latencies.
	ErrorRate, LatencyMedian, LatencySigma float64
	// Bounds are the latency histogram's buckets in milliseconds.
	Bounds []float64
	// Judge is the judge's configuration; its comparisons must be named
	// ErrorsComparison and LatencyComparison.
	Judge judge.Config
}

// The names of the judge's comparisons in the study.
const (
	ErrorsComparison  = "request-success-rate"
	LatencyComparison = "request-duration"
)

// EnvoyBounds are Envoy's default latency buckets in milliseconds, as the
// App Mesh sidecars of the seed export them.
var EnvoyBounds = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// SeedSettings are the seed's canary (interval 10s, metrics over 1m,
// stepWeight 5 up to 50, threshold 5, success rate ≥ 99%, p99 ≤ 500ms) and
// a healthy service with 0.1% errors and a 100ms median latency (p99 about
// 320ms), judged at 99% confidence with +0.5pp errors and +10% latency
// allowed, promoting after 30 inconclusive steps.
func SeedSettings() Settings {
	return Settings{
		Releases: 1000, Seed: 1,
		Interval: 10 * time.Second, MetricWindow: time.Minute,
		StepWeight: 5, MaxWeight: 50, Threshold: 5,
		MinSuccessRate: 99, MaxP99: 500,
		ErrorRate: 0.001, LatencyMedian: 100, LatencySigma: 0.5,
		Bounds: EnvoyBounds,
		Judge: judge.Config{
			Confidence: 0.99,
			Comparisons: []judge.Comparison{
				{Name: ErrorsComparison, Kind: judge.ErrorRate, AllowedDegradation: judge.Margin{Value: 0.5, Unit: judge.PercentagePoints}},
				{Name: LatencyComparison, Kind: judge.Latency, AllowedDegradation: judge.Margin{Value: 10, Unit: judge.Percent}},
			},
			Inconclusive: judge.InconclusivePolicy{MaxSteps: 30, Then: judge.ThenPromote},
		},
	}
}

// Effect is how the canary differs from the healthy primary.
type Effect struct {
	// Name says it for people, e.g. "+1pp errors".
	Name string
	// ErrorIncrease is added to the error rate (a fraction).
	ErrorIncrease float64
	// Slowdown multiplies the canary's latencies (1 is none).
	Slowdown float64
}

// Healthy reports whether the effect is no degradation at all.
func (e Effect) Healthy() bool { return e.ErrorIncrease == 0 && e.Slowdown == 1 }

// Scenario is one cell of the study.
type Scenario struct {
	// Rate is the traffic through the service in requests per second.
	Rate   float64
	Effect Effect
}

// Tally counts how one policy did over a scenario's releases.
type Tally struct {
	Releases   int
	RolledBack int
	// ByPolicy counts releases in which the judge's inconclusive policy
	// decided at least one step.
	ByPolicy int
	// Durations are the releases' lengths, sorted.
	Durations []time.Duration
}

// Rate is the share of releases rolled back.
func (t Tally) Rate() float64 { return float64(t.RolledBack) / float64(t.Releases) }

// Median is the median release length.
func (t Tally) Median() time.Duration { return t.Durations[len(t.Durations)/2] }

// Result is one scenario under both policies.
type Result struct {
	Scenario
	Thresholds, Judge Tally
}

// Run plays every scenario's releases under both policies, spread over
// the machine's cores; the results depend only on the settings.
func Run(s Settings, scenarios []Scenario) ([]Result, error) {
	if err := s.Judge.Validate(); err != nil {
		return nil, err
	}
	if s.Releases < 1 || s.StepWeight < 1 || s.MaxWeight < s.StepWeight || s.Interval <= 0 || s.MetricWindow < s.Interval {
		return nil, fmt.Errorf("settings: want releases, stepWeight >= 1, maxWeight >= stepWeight and metricWindow >= interval > 0")
	}
	type job struct{ scenario, release int }
	outcomes := make([][2]outcome, len(scenarios)*s.Releases)
	jobs := make(chan job)
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				st := s.stream(scenarios[j.scenario], j.scenario, j.release)
				th := s.thresholdRelease(st)
				jd, err := s.judgeRelease(st)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
				}
				outcomes[j.scenario*s.Releases+j.release] = [2]outcome{th, jd}
			}
		}()
	}
	for i := range scenarios {
		for r := range s.Releases {
			jobs <- job{i, r}
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return s.tally(scenarios, outcomes), nil
}

func (s Settings) stream(sc Scenario, scenario, release int) stream {
	healthy := newVersion(s.ErrorRate, s.LatencyMedian, s.LatencySigma, 1, s.Bounds)
	slowdown := sc.Effect.Slowdown
	if slowdown == 0 {
		slowdown = 1
	}
	return stream{
		seed:    s.Seed<<32 ^ uint64(scenario)<<24 ^ uint64(release),
		rate:    sc.Rate,
		seconds: s.Interval.Seconds(),
		bounds:  s.Bounds,
		primary: healthy,
		canary:  newVersion(s.ErrorRate+sc.Effect.ErrorIncrease, s.LatencyMedian, s.LatencySigma, slowdown, s.Bounds),
	}
}

func (s Settings) tally(scenarios []Scenario, outcomes [][2]outcome) []Result {
	results := make([]Result, len(scenarios))
	for i, sc := range scenarios {
		results[i].Scenario = sc
		for r := range s.Releases {
			o := outcomes[i*s.Releases+r]
			results[i].Thresholds.add(o[0], s.Interval)
			results[i].Judge.add(o[1], s.Interval)
		}
		results[i].Thresholds.sort()
		results[i].Judge.sort()
	}
	return results
}
