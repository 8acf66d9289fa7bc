// Package install tests how Serin is installed: the Helm charts
// (charts/serin, charts/serin-loadtester) with a pinned Helm built from
// the Go module proxy, the kustomize bases under config/, Flagger's chart
// command lines, and the observability kit. The cluster-backed tests
// install into a local control plane that serves App Mesh v1beta1 (the
// seed's era) and play the seed with the operator running on the chart
// ServiceAccount's credentials.
package install
