package cluster

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// operatorPolicy logs every request of OperatorUser, reads included, once
// it is answered, at the Metadata level: what the operator really asks of
// the API server, and whether RBAC allowed it.
const operatorPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
- level: Metadata
  users: ["` + OperatorUser + `"]
`

// writesPolicy logs each write once, when it completes, at the Metadata
// level (who, what, the request URI with its fieldManager and dryRun
// parameters, the response code). Events and leases are left out: they
// are most of the writes and say nothing about who changed what.
const writesPolicy = `- level: None
  resources:
  - group: ""
    resources: ["events"]
  - group: events.k8s.io
    resources: ["events"]
  - group: coordination.k8s.io
    resources: ["leases"]
- level: Metadata
  verbs: ["create", "update", "patch", "delete", "deletecollection"]
`

// writeAuditPolicy writes the policy, with writes as well as the
// operator's requests, and returns the API server's audit flags for
// logPath.
func writeAuditPolicy(dir, logPath string, writes bool) ([]string, error) {
	policy := operatorPolicy
	if writes {
		policy += writesPolicy
	}
	policy += "- level: None\n"
	path := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(path, []byte(policy), 0o644); err != nil {
		return nil, err
	}
	return []string{
		"--audit-policy-file=" + path, "--audit-log-path=" + logPath, "--audit-log-format=json",
		// Written as requests complete, so a test reads what happened.
		"--audit-log-mode=blocking", "--audit-log-maxsize=0",
	}, nil
}

// writeVerbs are the verbs Writes returns.
var writeVerbs = map[string]bool{"create": true, "update": true, "patch": true, "delete": true, "deletecollection": true}

// IsWrite reports whether the audited verb changes objects.
func IsWrite(verb string) bool { return writeVerbs[verb] }

// Writes reads the audit log: the writes the API server carried out
// (dry runs and refused requests left out), in order.
func (c *Cluster) Writes() ([]auditv1.Event, error) {
	if !c.writesAudited {
		return nil, fmt.Errorf("the cluster was started without Options.Audit")
	}
	events, err := c.auditEvents()
	if err != nil {
		return nil, err
	}
	var out []auditv1.Event
	for _, e := range events {
		if e.ObjectRef == nil || !writeVerbs[e.Verb] || strings.Contains(e.RequestURI, "dryRun=") ||
			e.ResponseStatus == nil || e.ResponseStatus.Code >= 300 {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// auditEvents reads the whole audit log.
func (c *Cluster) auditEvents() ([]auditv1.Event, error) {
	f, err := os.Open(c.AuditLog)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []auditv1.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e auditv1.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("audit log line: %w", err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// Request is one audited request of the operator.
type Request struct {
	Verb        string
	Group       string
	Resource    string
	Subresource string
	URI         string
	// Denied is true when authorization (RBAC) refused the request, as
	// opposed to, say, admission refusing a create in a namespace being
	// deleted, which is a 403 as well.
	Denied bool
	// Namespace and Name are the object's, when the request names one.
	Namespace, Name string
	// UserAgent tells apart processes that share the user (e.g. shards).
	UserAgent string
	// Code is the response's HTTP status code.
	Code int32
	// Received is when the API server received the request; Completed,
	// when it finished the response.
	Received, Completed time.Time
}

// OperatorRequests returns the requests of OperatorUser, in order.
func (c *Cluster) OperatorRequests() ([]Request, error) {
	events, err := c.auditEvents()
	if err != nil {
		return nil, err
	}
	var out []Request
	for _, e := range events {
		if e.User.Username != OperatorUser {
			continue
		}
		r := Request{Verb: e.Verb, URI: e.RequestURI, Denied: e.Annotations["authorization.k8s.io/decision"] == "forbid", UserAgent: e.UserAgent}
		if o := e.ObjectRef; o != nil {
			r.Group, r.Resource, r.Subresource, r.Namespace, r.Name = o.APIGroup, o.Resource, o.Subresource, o.Namespace, o.Name
		}
		if e.ResponseStatus != nil {
			r.Code = e.ResponseStatus.Code
		}
		r.Received, r.Completed = e.RequestReceivedTimestamp.Time, e.StageTimestamp.Time
		out = append(out, r)
	}
	return out, nil
}
