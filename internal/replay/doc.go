// Package replay runs a Canary's analysis again over a past time window:
// the same pure engine (analysis.Step, and the judge through it) at the
// operator's own step times, answering each metric from what Prometheus
// recorded at that time. The step times and the live weights come from the
// operator's flagger_canary_weight series, the live outcome of each release
// from flagger_canary_status. It is the engine of `serin replay`.
//
// The traffic that was recorded was split by the live decisions: once the
// replayed policy decides otherwise, later data comes from a split it would
// not have made, so Run marks the first divergence of each release and
// labels the decisions after it what-if.
package replay
