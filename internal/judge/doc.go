// Package judge compares a canary with its primary over the same intervals
// and decides, look after look, whether the canary is worse than allowed
// (Fail), within what is allowed (Pass), or not yet known (Inconclusive).
//
// It is pure: Step takes the configuration, the evidence gathered so far
// (State, small and bounded, so it can live in the canary's status) and one
// look's counts for both versions, and returns the new State and a Decision
// whose Verdicts explain each comparison in numbers.
//
// Two comparisons exist. ErrorRate tests the difference between the
// canary's and the primary's error rates against an allowed increase in
// percentage points; Latency tests the ratio of the canary's latency to the
// primary's, on the bucketed histograms, against an allowed slowdown in
// percent. Each look is a stratum: both versions are compared over the same
// interval, so a change that hits both (a dependency outage, a load peak)
// while the traffic split moves does not read as a difference between them.
//
// The tests are sequential: every look may decide, and the probability of
// failing a canary that is within the allowed degradation stays below
// 1-Confidence over all looks of a release, however many there are. They
// use one-sided gamma-mixture (sub-Poisson) confidence sequences, tests
// that are valid at every look; docs/judge.md explains the choice and its
// assumptions.
package judge
