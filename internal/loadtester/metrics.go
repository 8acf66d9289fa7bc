package loadtester

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the load tester's Prometheus metrics, served on /metrics:
//
//	serin_loadtester_commands_started_total{type}     commands started
//	serin_loadtester_commands_failed_total{type}      commands that failed, timed out or could not start
//	serin_loadtester_commands_skipped_total           cmd tasks not started because the same command
//	                                                  was already running for the same canary
//	serin_loadtester_requests_refused_total{reason}   requests refused before anything ran
//	serin_loadtester_commands_running                 commands running now
//	serin_loadtester_gate_open{gate,name,namespace}   1 if the gate ("gate" or "rollback") is open,
//	                                                  0 if closed, as last set or checked
type Metrics struct {
	started  *prometheus.CounterVec
	failed   *prometheus.CounterVec
	skipped  prometheus.Counter
	refused  *prometheus.CounterVec
	running  prometheus.Gauge
	gateOpen *prometheus.GaugeVec
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
		gateOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "gate_open", Help: "1 if the gate is open, 0 if closed, as last set or checked."},
			[]string{"gate", "name", "namespace"}),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.started, m.failed, m.skipped, m.refused, m.running, m.gateOpen,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m, reg
}
