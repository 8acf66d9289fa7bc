// Package webhook calls a canary's webhooks: the gates, tests and load
// generators of spec.analysis.webhooks, and the event webhooks that are told
// about every step of a release.
//
// A webhook gets a JSON POST of the canary's name, namespace, phase and
// revision checksum plus the webhook's metadata. It succeeds when it
// replies with a status of 202 or lower.
package webhook
