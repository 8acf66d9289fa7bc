package metrics

import (
	"errors"
	"fmt"
	"regexp"
	"text/template"
	"text/template/parse"
	"unicode/utf8"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/egress"
)

// queryVars are the values a query template can use.
type queryVars struct {
	Name      string            // canary name
	Namespace string            // canary namespace
	Target    string            // spec.targetRef.name
	Service   string            // apex service name
	Ingress   string            // spec.ingressRef.name, else the target
	Route     string            // the target: the API has no routeRef
	Interval  string            // the metric's query range, e.g. 1m
	Variables map[string]string // the metric's templateVariables
	// Workload is the workload a query measures: the target (the
	// canary's), or <target>-primary for a comparison's primary side.
	Workload string
	// Window is a comparison's range, the time since the judge's previous
	// look; the metric's interval for a threshold query.
	Window string
}

// varsFor collects the template values of one metric of a canary.
func varsFor(canary *flaggerv1.Canary, m flaggerv1.CanaryMetric) queryVars {
	v := queryVars{
		Name:      canary.Name,
		Namespace: canary.Namespace,
		Target:    canary.Spec.TargetRef.Name,
		Service:   canary.GetServiceName(),
		Interval:  m.GetMetricInterval(),
		Variables: make(map[string]string, len(m.TemplateVariables)),
		Workload:  canary.Spec.TargetRef.Name,
		Window:    m.GetMetricInterval(),
		// Flagger's defaults: ingress and route fall back to the target,
		// so a template written for them renders here too. route is
		// Flagger's spec.routeRef, which Serin's API does not have.
		Ingress: canary.Spec.TargetRef.Name,
		Route:   canary.Spec.TargetRef.Name,
	}
	for k, val := range m.TemplateVariables {
		v.Variables[k] = string(val)
	}
	if canary.Spec.IngressRef != nil {
		v.Ingress = canary.Spec.IngressRef.Name
	}
	return v
}

// funcs are the template functions: {{ namespace }}, {{ target }}, ….
func (v queryVars) funcs() template.FuncMap {
	return template.FuncMap{
		"name":      func() string { return v.Name },
		"namespace": func() string { return v.Namespace },
		"target":    func() string { return v.Target },
		"service":   func() string { return v.Service },
		"ingress":   func() string { return v.Ingress },
		"route":     func() string { return v.Route },
		"interval":  func() string { return v.Interval },
		"variables": func() map[string]string { return v.Variables },
		"workload":  func() string { return v.Workload },
		"window":    func() string { return v.Window },
	}
}

// data is the template's dot, so {{ .namespace }} and {{ .variables.key }}
// work as well as the functions.
func (v queryVars) data() map[string]any {
	return map[string]any{
		"name":      v.Name,
		"namespace": v.Namespace,
		"target":    v.Target,
		"service":   v.Service,
		"ingress":   v.Ingress,
		"route":     v.Route,
		"interval":  v.Interval,
		"variables": v.Variables,
		"workload":  v.Workload,
		"window":    v.Window,
	}
}

var (
	// action matches one template action, {{ … }}.
	action = regexp.MustCompile(`(?s){{.*?}}`)
	// variableField matches Flagger's variables.key, but not .variables.key
	// or $variables.key, which Go templates read natively.
	variableField = regexp.MustCompile(`(^|[^\w.$])variables\.([A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*)`)
)

// rewriteVariables turns Flagger's {{ variables.key }}, which is not Go
// template syntax, into {{ (index variables "key") }}.
func rewriteVariables(text string) string {
	return action.ReplaceAllStringFunc(text, func(a string) string {
		return variableField.ReplaceAllString(a, `${1}(index variables "${2}")`)
	})
}

// validVariable is what a templateVariables value may be (see
// flaggerv1.TemplateVariablePattern).
var validVariable = regexp.MustCompile(flaggerv1.TemplateVariablePattern)

// checkVariables refuses variable values that could end a quoted PromQL
// string. The CRD refuses them too; objects stored before it did, and the
// query's author may not be the canary's, so the renderer checks again.
func checkVariables(vars map[string]string) error {
	for k, v := range vars {
		if !utf8.ValidString(v) || !validVariable.MatchString(v) {
			return fmt.Errorf("templateVariables.%s is placed inside a quoted PromQL string: it must not contain quotes "+
				"(other than the escape \\\"), backquotes or control characters, and a backslash must start one of the escapes "+
				"\\\\ \\\" \\n \\t (or \\a \\b \\f \\r \\v)", k)
		}
	}
	return nil
}

// renderQuery renders the query template text; name is the template's
// name in parse and execution errors.
//
// Templates and variables come from users, so the renderer keeps a render
// cheap and its output a query of the template's making: templates of at
// most maxTemplateLength bytes, no template or block calls, range only over
// variables and not nested, printf widths below 1000, a budget of text and
// time for the whole render (renderBudget), and variable values that
// cannot end a quoted string.
func renderQuery(name, text string, v queryVars) (string, error) {
	if len(text) > maxTemplateLength {
		return "", fmt.Errorf("parse query: the template is longer than %d bytes", maxTemplateLength)
	}
	if err := checkVariables(v.Variables); err != nil {
		return "", err
	}
	budget := newRenderBudget()
	t, err := template.New(name).
		Funcs(v.funcs()).
		Funcs(budget.funcs()).
		Option("missingkey=error").
		Parse(rewriteVariables(text))
	if err != nil {
		return "", fmt.Errorf("parse query: %s", shortened(err))
	}
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		if err := checkNode(tt.Root, false); err != nil {
			return "", fmt.Errorf("parse query: %s: %w", tt.Name(), err)
		}
	}
	w := &budgetWriter{budget: budget}
	if err := t.Execute(w, v.data()); err != nil {
		for _, e := range []error{errTooLong, errRenderBytes, errRenderTime} {
			if errors.Is(err, e) {
				return "", fmt.Errorf("render query: %w", e)
			}
		}
		return "", fmt.Errorf("render query: %s", shortened(err))
	}
	return w.String(), nil
}

// maxErrorLength bounds a parse or render error, which reaches the
// canary's status and events: text/template quotes the failing action or
// token, which can be as long as the template.
const maxErrorLength = 300

func shortened(err error) string { return egress.Sanitize(err.Error(), maxErrorLength) }

// checkNode rejects the template actions that could make rendering slow.
func checkNode(node parse.Node, inRange bool) error {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkNode(c, inRange); err != nil {
				return err
			}
		}
	case *parse.TemplateNode:
		return errors.New("template and block actions are not supported in queries")
	case *parse.RangeNode:
		if inRange {
			return errors.New("nested range actions are not supported in queries")
		}
		if !overVariables(n.Pipe) {
			return errors.New("range iterates only over variables in queries")
		}
		return errors.Join(checkNode(n.List, true), checkNode(n.ElseList, inRange))
	case *parse.IfNode:
		return errors.Join(checkNode(n.List, inRange), checkNode(n.ElseList, inRange))
	case *parse.WithNode:
		return errors.Join(checkNode(n.List, inRange), checkNode(n.ElseList, inRange))
	}
	return nil
}

// overVariables tells whether a range pipeline is variables or .variables.
func overVariables(p *parse.PipeNode) bool {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.IdentifierNode:
		return a.Ident == "variables"
	case *parse.FieldNode:
		return len(a.Ident) == 1 && a.Ident[0] == "variables"
	}
	return false
}
