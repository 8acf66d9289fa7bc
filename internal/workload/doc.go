// Package workload builds and inspects the workloads of a canary release:
// the primary copy of the target Deployment, the ConfigMaps and Secrets it
// references, their checksums, and readiness.
package workload
