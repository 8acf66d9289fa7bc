package metrics

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// queryVars are the values a query template can use.
type queryVars struct {
	Name      string            // canary name
	Namespace string            // canary namespace
	Target    string            // spec.targetRef.name
	Service   string            // apex service name
	Ingress   string            // spec.ingressRef.name, if any
	Interval  string            // the metric's query range, e.g. 1m
	Variables map[string]string // the metric's templateVariables
}

// varsFor collects the template values of one metric of a canary.
func varsFor(canary *flaggerv1.Canary, m flaggerv1.CanaryMetric) queryVars {
	v := queryVars{
		Name:      canary.Name,
		Namespace: canary.Namespace,
		Target:    canary.Spec.TargetRef.Name,
		Service:   canary.GetServiceName(),
		Interval:  m.GetMetricInterval(),
		Variables: m.TemplateVariables,
	}
	if canary.Spec.IngressRef != nil {
		v.Ingress = canary.Spec.IngressRef.Name
	}
	if v.Variables == nil {
		v.Variables = map[string]string{}
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
		"interval":  func() string { return v.Interval },
		"variables": func() map[string]string { return v.Variables },
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
		"interval":  v.Interval,
		"variables": v.Variables,
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

// maxQueryLength bounds a rendered query, and every string a template
// builds on the way.
const maxQueryLength = 64 << 10

// errTooLong says that a template produced more than maxQueryLength bytes.
var errTooLong = fmt.Errorf("query is longer than %d bytes", maxQueryLength)

// renderQuery renders the query template text; name is the template's
// name in parse and execution errors.
//
// Templates come from users, so the renderer keeps them cheap: no template
// or block calls, range only over variables and not nested, printf widths
// below 1000, and strings of at most maxQueryLength bytes.
func renderQuery(name, text string, v queryVars) (string, error) {
	t, err := template.New(name).
		Funcs(v.funcs()).
		Funcs(boundedFuncs).
		Option("missingkey=error").
		Parse(rewriteVariables(text))
	if err != nil {
		return "", fmt.Errorf("parse query: %w", err)
	}
	for _, tt := range t.Templates() {
		if tt.Tree == nil {
			continue
		}
		if err := checkNode(tt.Root, false); err != nil {
			return "", fmt.Errorf("parse query: %s: %w", tt.Name(), err)
		}
	}
	var w limitedWriter
	if err := t.Execute(&w, v.data()); err != nil {
		return "", fmt.Errorf("render query: %w", err)
	}
	return w.String(), nil
}

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

// wideVerb matches a printf verb with a width or precision of 1000 or more,
// or one taken from an argument (*).
var wideVerb = regexp.MustCompile(`%[^a-zA-Z%]*?([1-9]\d{3,}|\*)`)

// boundedFuncs replace the builtin print functions with ones whose output
// is bounded.
var boundedFuncs = template.FuncMap{
	"print":   func(args ...any) (string, error) { return bounded(fmt.Sprint(args...)) },
	"println": func(args ...any) (string, error) { return bounded(fmt.Sprintln(args...)) },
	"printf": func(format string, args ...any) (string, error) {
		if wideVerb.MatchString(format) {
			return "", fmt.Errorf("printf format %q: widths and precisions must be below 1000", format)
		}
		return bounded(fmt.Sprintf(format, args...))
	},
}

func bounded(s string) (string, error) {
	if len(s) > maxQueryLength {
		return "", errTooLong
	}
	return s, nil
}

// limitedWriter collects at most maxQueryLength bytes.
type limitedWriter struct {
	strings.Builder
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.Len()+len(p) > maxQueryLength {
		return 0, errTooLong
	}
	return w.Builder.Write(p)
}
