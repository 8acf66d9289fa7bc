package metrics

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"time"
)

// The render budget: whatever a query template does, one render costs at
// most this much.
const (
	// maxTemplateLength is the longest template rendered; the CRDs refuse
	// longer queries.
	maxTemplateLength = 16 << 10
	// maxQueryLength bounds the rendered query.
	maxQueryLength = 64 << 10
	// maxRenderBytes bounds all the text one render produces: the query
	// and every string its functions build on the way.
	maxRenderBytes = 256 << 10
	// maxRenderTime bounds one render.
	maxRenderTime = 100 * time.Millisecond
)

var (
	errTooLong     = fmt.Errorf("query is longer than %d bytes", maxQueryLength)
	errRenderBytes = fmt.Errorf("the template builds more than %d KiB of text", maxRenderBytes>>10)
	errRenderTime  = fmt.Errorf("the template takes longer than %s to render", maxRenderTime)
)

// renderTimeLimit is maxRenderTime; tests of the byte limits widen it, so
// that on a loaded machine the clock does not decide their cases first.
var renderTimeLimit = maxRenderTime

// renderBudget is what is left of one render's budget. Every function that
// builds a string, and the output, charge it; a function refuses before
// building a string that would not fit.
type renderBudget struct {
	bytes    int
	deadline time.Time
}

func newRenderBudget() *renderBudget {
	return &renderBudget{bytes: maxRenderBytes, deadline: time.Now().Add(renderTimeLimit)}
}

// reserve checks that n more bytes fit and that there is time left.
func (b *renderBudget) reserve(n int) error {
	switch {
	case n > b.bytes:
		return errRenderBytes
	case time.Now().After(b.deadline):
		return errRenderTime
	}
	return nil
}

// spend charges n bytes.
func (b *renderBudget) spend(n int) error {
	if err := b.reserve(n); err != nil {
		return err
	}
	b.bytes -= n
	return nil
}

// wideVerb matches a printf verb with a width or precision of 1000 or more,
// or one taken from an argument (*).
var wideVerb = regexp.MustCompile(`%[^a-zA-Z%]*?([1-9]\d{3,}|\*)`)

// funcs replace the builtin functions that build strings with ones that
// charge the budget.
func (b *renderBudget) funcs() template.FuncMap {
	build := func(upperBound int, f func() string) (string, error) {
		if err := b.reserve(upperBound); err != nil {
			return "", err
		}
		s := f()
		return s, b.spend(len(s))
	}
	escaper := func(escape func(...any) string, growth int) func(...any) (string, error) {
		return func(args ...any) (string, error) {
			return build(growth*argsSize(args), func() string { return escape(args...) })
		}
	}
	return template.FuncMap{
		"print": func(args ...any) (string, error) {
			return build(argsSize(args), func() string { return fmt.Sprint(args...) })
		},
		"println": func(args ...any) (string, error) {
			return build(argsSize(args), func() string { return fmt.Sprintln(args...) })
		},
		"printf": func(format string, args ...any) (string, error) {
			if wideVerb.MatchString(format) {
				return "", fmt.Errorf("printf format %q: widths and precisions must be below 1000", format)
			}
			upper := len(format) + argsSize(args) + 1000*strings.Count(format, "%")
			return build(upper, func() string { return fmt.Sprintf(format, args...) })
		},
		// The escapers grow text: html at most 5 times (& to &amp;),
		// js and urlquery at most 6 (\u0027, %XX per byte of a rune).
		"html":     escaper(template.HTMLEscaper, 5),
		"js":       escaper(template.JSEscaper, 6),
		"urlquery": escaper(template.URLQueryEscaper, 6),
	}
}

// argsSize is an upper bound of the printed size of template values: the
// strings and maps of strings a query template can reach, and short
// scalars.
func argsSize(args []any) int {
	n := 0
	for _, a := range args {
		switch v := a.(type) {
		case string:
			n += len(v)
		case map[string]string:
			for k, s := range v {
				n += len(k) + len(s) + 4
			}
			n += 8
		case map[string]any:
			n += argsSize(mapValues(v)) + 16*len(v)
		default:
			n += 64
		}
		n++ // a separating space
	}
	return n
}

func mapValues(m map[string]any) []any {
	out := make([]any, 0, 2*len(m))
	for k, v := range m {
		out = append(out, k, v)
	}
	return out
}

// budgetWriter collects the rendered query: at most maxQueryLength bytes,
// charged to the budget.
type budgetWriter struct {
	strings.Builder
	budget *renderBudget
}

func (w *budgetWriter) Write(p []byte) (int, error) {
	if w.Len()+len(p) > maxQueryLength {
		return 0, errTooLong
	}
	if err := w.budget.spend(len(p)); err != nil {
		return 0, err
	}
	return w.Builder.Write(p)
}
