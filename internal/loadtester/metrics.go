package loadtester

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the load tester's Prometheus metrics, served on /metrics:
//
//	serin_loadtester_commands_started_total{type}     commands started
//	serin_loadtester_commands_failed_total{type}      commands that failed, timed out or could not start
//	serin_loadtester_commands_skipped_total           tasks not started because the same command
//	                                                  was already running for the same canary
//	serin_loadtester_requests_refused_total{reason}   requests refused before anything ran
//	serin_loadtester_commands_running                 commands running now
//	serin_loadtester_gate_checks_total{gate,result}   gate checks, by gate ("gate" or "rollback")
//	                                                  and result ("open" or "closed")
//	serin_loadtester_gate_changes_total{gate,action}  gate changes, by action ("opened", "closed")
//
// No label carries a canary's name: callers choose names, and a label per name would let them
// grow the series without bound.
type Metrics struct {
	started     *prometheus.CounterVec
	failed      *prometheus.CounterVec
	skipped     prometheus.Counter
	refused     *prometheus.CounterVec
	running     prometheus.Gauge
	gateChecks  *prometheus.CounterVec
	gateChanges *prometheus.CounterVec
}

// newMetrics creates the metrics and registers them, with the Go and process collectors, on a
// registry of their own so that several servers can live in one test binary.
func newMetrics() (*Metrics, *prometheus.Registry) {
	const ns, sub = "serin", "loadtester"
	m := &Metrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "commands_started_total", Help: "Commands started, by task type."}, []string{"type"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "commands_failed_total", Help: "Commands that failed or timed out, by task type."},
			[]string{"type"}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "commands_skipped_total",
			Help: "Commands not started because an identical one was running for the same canary."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "requests_refused_total", Help: "Requests refused before anything ran, by reason."},
			[]string{"reason"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "commands_running", Help: "Commands running now."}),
		gateChecks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "gate_checks_total", Help: "Gate checks, by gate and result (open or closed)."},
			[]string{"gate", "result"}),
		gateChanges: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "gate_changes_total", Help: "Gates opened or closed, by gate and action."},
			[]string{"gate", "action"}),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.started, m.failed, m.skipped, m.refused, m.running, m.gateChecks, m.gateChanges,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m, reg
}
