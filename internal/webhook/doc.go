// Package webhook calls a canary's webhooks: the gates, tests and load
// generators of spec.analysis.webhooks, and the event webhooks that are told
// about every step of a release.
//
// A webhook gets a JSON POST of the canary's name, namespace, phase and
// revision checksum plus the webhook's metadata. It succeeds when it
// replies with a status of 202 or lower.
//
// Webhook URLs are written by tenants, so the calls are made through
// internal/egress: addresses in denied networks (cloud metadata by default)
// are refused, redirects are not followed, at most a few KiB of a reply are
// read, and a failure is described for the canary's status with the reply's
// status and at most a short summary of a plain-text reply. Transport
// failures are named by kind (timeout, connection refused, host not found)
// without addresses; the details go to the operator's log.
package webhook
