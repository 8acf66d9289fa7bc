// Package loadtester implements serin-loadtester, the webhook service that canary analyses call
// to put traffic on a canary while it is measured, to run conformance commands, and to hold
// manual approval and rollback gates.
//
// The HTTP surface is compatible with the Flagger load tester so existing Canary manifests keep
// working, but the defaults are safe: a `cmd` task is split into words with shell quoting rules
// and executed directly, never through a shell, and only programs on an allow-list may run.
// Shell, kubectl and helm tasks exist for compatibility and are off until a flag enables them.
// Gate state is persisted (a ConfigMap in a cluster, a JSON file elsewhere) so a restart does
// not silently close a gate an operator opened.
//
// The pieces, each in its own file:
//   - command.go: ParseCommand, the pure validation of a command line.
//   - task.go: turning a webhook payload into a Task under the configured policy.
//   - runner.go: running tasks with de-duplication, a concurrency limit and timeouts.
//   - exec.go: the process executor (process groups, bounded output capture).
//   - gates.go, store_file.go, store_configmap.go: gate endpoints and their persistence.
//   - server.go: the thin HTTP layer and graceful shutdown.
//   - metrics.go: the Prometheus metrics.
package loadtester
