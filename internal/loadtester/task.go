package loadtester

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Task types accepted in metadata.type. An empty type means TypeCmd, as in Flagger.
const (
	TypeCmd     = "cmd"
	TypeBash    = "bash"
	TypeKubectl = "kubectl"
	TypeHelm    = "helm"
	TypeHelmV3  = "helmv3"
)

// Payload is the JSON body the canary controller POSTs to every webhook.
type Payload struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Phase     string            `json:"phase,omitempty"`
	Checksum  string            `json:"checksum,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// Canary identifies the canary as Flagger does: "name.namespace".
func (p Payload) Canary() string { return p.Name + "." + p.Namespace }

// Task is a validated command ready for the Runner.
type Task struct {
	// Canary is "name.namespace"; with Type and Argv it is the de-duplication key.
	Canary string
	// Namespace is the canary's namespace, whose share of the concurrency limit the task uses.
	Namespace string
	// Type is the metadata.type the task came from, used as a metric label.
	Type string
	// Argv is the program and its arguments, executed without a shell.
	Argv []string
	// Timeout bounds the run; the process group is killed when it expires.
	Timeout time.Duration
	// Async tasks run in the background and the request is answered at once.
	Async bool
	// LogOutput logs the command output when it finishes (metadata logCmdOutput).
	LogOutput bool
	// ReturnOutput puts the output in the reply of a blocking task (metadata returnCmdOutput).
	ReturnOutput bool
}

// RequestError is a request refused before anything ran.
type RequestError struct {
	// Status is the HTTP status of the reply.
	Status int
	// Reason is a short, fixed label for the refused-requests metric.
	Reason string
	// Message tells the caller what was wrong and how to fix it.
	Message string
}

func (e *RequestError) Error() string { return e.Message }

func refusal(status int, reason, format string, args ...any) *RequestError {
	return &RequestError{Status: status, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Policy is what the service operator allows callers to run.
type Policy struct {
	// AllowedPrograms may be run by cmd tasks.
	AllowedPrograms []string
	// EnableBash, EnableKubectl and EnableHelm switch on the task types that can run
	// arbitrary commands.
	EnableBash, EnableKubectl, EnableHelm bool
	// Namespaces, when set, must fully match the payload namespace.
	Namespaces *regexp.Regexp
	// DefaultTimeout applies when metadata.timeout is unset; MaxTimeout caps it.
	DefaultTimeout, MaxTimeout time.Duration
	// LogOutput logs the output of every command, as metadata logCmdOutput
	// "true" does for one.
	LogOutput bool
	// Hey bounds the options of hey commands.
	Hey HeyLimits
}

// CheckCanary validates the payload's name and namespace and applies the namespace filter.
// The names become store keys and metric labels, so they must be real Kubernetes names.
func (pol Policy) CheckCanary(p Payload) *RequestError {
	if errs := validation.IsDNS1123Subdomain(p.Name); len(errs) > 0 {
		return refusal(http.StatusBadRequest, "invalid_payload",
			"payload name %q is not a valid Kubernetes name: %s", p.Name, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Label(p.Namespace); len(errs) > 0 {
		return refusal(http.StatusBadRequest, "invalid_payload",
			"payload namespace %q is not a valid Kubernetes namespace: %s",
			p.Namespace, strings.Join(errs, "; "))
	}
	if pol.Namespaces != nil && !pol.Namespaces.MatchString(p.Namespace) {
		return refusal(http.StatusForbidden, "namespace_not_allowed",
			"namespace %q is not allowed: it does not match --namespace-regexp %q",
			p.Namespace, pol.Namespaces.String())
	}
	return nil
}

// Task turns a command payload into a Task, or says why it may not run.
func (pol Policy) Task(p Payload) (Task, *RequestError) {
	if rerr := pol.CheckCanary(p); rerr != nil {
		return Task{}, rerr
	}
	if p.Metadata == nil {
		return Task{}, refusal(http.StatusBadRequest, "missing_metadata",
			"metadata is missing: set the webhook metadata, e.g. cmd: \"hey -z 1m http://app/\"")
	}
	line := p.Metadata["cmd"]
	if strings.TrimSpace(line) == "" {
		return Task{}, refusal(http.StatusBadRequest, "missing_metadata",
			"metadata.cmd is missing: set it to the command to run")
	}
	timeout, rerr := pol.timeout(p.Metadata["timeout"])
	if rerr != nil {
		return Task{}, rerr
	}
	typ := p.Metadata["type"]
	if typ == "" {
		typ = TypeCmd
	}
	argv, async, rerr := pol.argv(typ, line)
	if rerr != nil {
		return Task{}, rerr
	}
	return Task{
		Canary:       p.Canary(),
		Namespace:    p.Namespace,
		Type:         typ,
		Argv:         argv,
		Timeout:      timeout,
		Async:        async,
		LogOutput:    pol.LogOutput || strings.EqualFold(p.Metadata["logCmdOutput"], "true"),
		ReturnOutput: strings.EqualFold(p.Metadata["returnCmdOutput"], "true"),
	}, nil
}

// argv builds the argument vector for a task type and says whether it runs asynchronously.
func (pol Policy) argv(typ, line string) ([]string, bool, *RequestError) {
	switch typ {
	case TypeCmd:
		argv, err := ParseCommand(line, pol.AllowedPrograms)
		if err == nil && argv[0] == "hey" {
			err = pol.Hey.CheckHey(argv[1:])
		}
		if err != nil {
			return nil, false, refusal(http.StatusBadRequest, "command_refused", "%v", err)
		}
		return argv, true, nil
	case TypeBash:
		if !pol.EnableBash {
			return nil, false, disabled(typ, "--enable-bash")
		}
		// The one place a shell is used, on purpose: the operator opted in to it.
		return []string{"bash", "-c", line}, false, nil
	case TypeKubectl:
		if !pol.EnableKubectl {
			return nil, false, disabled(typ, "--enable-kubectl")
		}
		return toolArgv("kubectl", line)
	case TypeHelm, TypeHelmV3:
		if !pol.EnableHelm {
			return nil, false, disabled(typ, "--enable-helm")
		}
		return toolArgv("helm", line, TypeHelmV3)
	default:
		return nil, false, refusal(http.StatusBadRequest, "unknown_type",
			"metadata type %q is unknown: use cmd, bash, kubectl, helm or helmv3", typ)
	}
}

func disabled(typ, flag string) *RequestError {
	return refusal(http.StatusForbidden, "type_disabled",
		"metadata type %q is disabled because it can run arbitrary commands; "+
			"start serin-loadtester with %s to enable it", typ, flag)
}

// toolArgv splits the arguments of a kubectl or helm task without a shell. Flagger manifests
// write either "test run podinfo" or "helm test run podinfo", so a leading tool name (or one of
// its aliases) is dropped rather than passed twice.
func toolArgv(tool, line string, aliases ...string) ([]string, bool, *RequestError) {
	words, err := SplitWords(line)
	if err != nil {
		return nil, false, refusal(http.StatusBadRequest, "command_refused", "%v", err)
	}
	if words[0] == tool || slices.Contains(aliases, words[0]) {
		words = words[1:]
	}
	return append([]string{tool}, words...), false, nil
}

// timeout reads metadata.timeout: a Go duration ("90s", "5m") or a number of seconds.
func (pol Policy) timeout(value string) (time.Duration, *RequestError) {
	if value == "" {
		return pol.DefaultTimeout, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		secs, nerr := strconv.ParseInt(value, 10, 64)
		if nerr != nil {
			return 0, refusal(http.StatusBadRequest, "invalid_timeout",
				"metadata.timeout %q is not a duration such as \"90s\" or \"5m\"", value)
		}
		// Cap before multiplying so a huge number cannot overflow into a valid duration.
		d = time.Duration(min(secs, int64(pol.MaxTimeout/time.Second)+1)) * time.Second
	}
	if d <= 0 || d > pol.MaxTimeout {
		return 0, refusal(http.StatusBadRequest, "invalid_timeout",
			"metadata.timeout %s must be positive and at most %s (--max-timeout)", d, pol.MaxTimeout)
	}
	return d, nil
}
