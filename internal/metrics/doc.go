// Package metrics checks a canary's analysis metrics against Prometheus.
//
// Each metric of spec.analysis.metrics is one of: a built-in metric
// (request-success-rate in percent, request-duration in milliseconds) whose
// PromQL depends on the mesh provider; a MetricTemplate named by templateRef;
// or a deprecated inline query. The query is rendered, run as an instant
// query, and its first sample is compared with the metric's thresholds.
// Checker.Check returns one Result per metric, with the "Halt …" message
// users see when a check fails.
//
// Metrics with compare (spec.analysis.judge) are not held to a threshold:
// Checker.Compare measures them for the canary's workload and the
// primary's over the window since the judge's previous look — request and
// error counts, or a latency histogram by le — for the judge to compare.
package metrics
