// Package egress builds the HTTP clients that call addresses written by
// tenants: webhook URLs, Prometheus servers of MetricTemplates and Canaries,
// and (later) alert providers. Such an address may point anywhere the
// operator's pod can reach, so every call goes through the same guards:
//
//   - Policy refuses connections to denied networks. The check runs on the
//     IP address the dialer is about to connect to, after DNS resolution, so
//     a name that resolves (or is rebound) to a denied address is refused
//     too. Link-local addresses (169.254.0.0/16, fe80::/10: cloud metadata
//     services) and the other cloud metadata addresses are denied by
//     default; the operator can deny further networks and allow exceptions.
//   - Redirects are never followed: a 3xx reply is the answer.
//   - Replies are read up to a limit; a larger reply is an error.
//   - Summary turns the start of a reply into a short, printable, single-line
//     text that may be shown to the tenant; everything else stays in the
//     operator's logs.
//
// Environment proxies (HTTP_PROXY, HTTPS_PROXY) are ignored by the
// transports built here: behind a proxy the dialer would only see the
// proxy's address, and the policy could not judge the destination.
package egress
