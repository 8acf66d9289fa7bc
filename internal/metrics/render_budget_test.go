package metrics

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// kib builds a string of about 1 KiB inside a template, as $s.
const kib = `{{ $s := print (printf "%0999d" 0) (printf "%024d" 0) }}`

func TestRenderStaysWithinItsBudget(t *testing.T) {
	canary := newCanary("podinfo")
	metric := flaggerv1.CanaryMetric{Name: "m", TemplateVariables: map[string]flaggerv1.TemplateVariable{"big": flaggerv1.TemplateVariable(strings.Repeat("v", 1024))}}
	cases := map[string]struct {
		text    string // the query template
		wantErr string // the refusal
	}{
		"a template of 860 KB is refused unparsed": {
			text: strings.Repeat(kib+`{{ $s = print $s $s $s $s $s $s $s $s }}`, 12000), wantErr: "the template is longer than 16384 bytes"},
		"repeated string building runs out of text": {
			text: `{{ $s := printf "%0999d" 0 }}` + strings.Repeat(`{{ $t := print $s $s $s $s $s $s $s $s }}`, 100), wantErr: "the template builds more than 256 KiB of text"},
		"one print of thousands of arguments is refused before it is built": {
			text: `{{ $s := printf "%0999d" 0 }}{{ $t := print ` + strings.Repeat("$s ", 5000) + `}}`, wantErr: "the template builds more than 256 KiB of text"},
		"printf counts its arguments too": {
			text: kib + `{{ $t := printf "%s%s%s%s%s%s%s%s" $s $s $s $s $s $s $s $s }}` + strings.Repeat(`{{ $t = printf "%s%s%s%s" $t $t $t $t }}`, 10), wantErr: "the template builds more than 256 KiB of text"},
		"escapers are charged for their growth": {
			text: `{{ $s := printf "%0999s" "<" }}` + strings.Repeat(`{{ $t := html $s $s $s $s $s $s $s $s $s $s }}`, 40), wantErr: "the template builds more than 256 KiB of text"},
		"urlquery is charged": {
			text: kib + strings.Repeat(`{{ $t := urlquery $s $s $s $s $s $s $s $s $s $s $s $s $s $s $s $s }}`, 20), wantErr: "the template builds more than 256 KiB of text"},
		"js is charged": {
			text: kib + strings.Repeat(`{{ $t := js $s $s $s $s $s $s $s $s $s $s $s $s $s $s $s $s }}`, 20), wantErr: "the template builds more than 256 KiB of text"},
		"the output is capped at 64 KiB": {
			text: kib + strings.Repeat(`{{ $s }}`, 70), wantErr: "query is longer than 65536 bytes"},
		"printing the variables map is charged": {
			text: strings.Repeat(`{{ $t := print variables variables variables variables }}`, 80), wantErr: "the template builds more than 256 KiB of text"},
	}
	widenRenderTimeLimit(t)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := renderQuery("test/m", tc.text, varsFor(canary, metric))
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %.500v, want one containing %q", err, tc.wantErr)
			}
			// The error reaches the canary's status: it must not quote
			// the template's actions at length.
			if len(err.Error()) > 400 {
				t.Errorf("the error has %d characters", len(err.Error()))
			}
			// Bounds far above the budget, so they hold on a loaded
			// machine; the old renderer took seconds and gigabytes here.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("the render allocated %d MiB", alloc>>20)
			}
			if elapsed > 5*time.Second {
				t.Errorf("the render took %v", elapsed)
			}
		})
	}
}

// widenRenderTimeLimit lets the byte limits, not a loaded machine's clock,
// decide a test's renders.
func widenRenderTimeLimit(t *testing.T) {
	renderTimeLimit = time.Minute
	t.Cleanup(func() { renderTimeLimit = maxRenderTime })
}

func TestARenderPastItsTimeLimitIsRefused(t *testing.T) {
	renderTimeLimit = -time.Second
	t.Cleanup(func() { renderTimeLimit = maxRenderTime })
	_, err := renderQuery("test/m", `{{ $s := print "a" "b" }}{{ $s }}`, varsFor(newCanary("podinfo"), flaggerv1.CanaryMetric{Name: "m"}))
	if err == nil || !strings.Contains(err.Error(), "the template takes longer than 100ms to render") {
		t.Fatalf("error = %v, want the render time limit named", err)
	}
}

func TestTemplateErrorsAreShort(t *testing.T) {
	for name, text := range map[string]string{
		"a long token that does not parse": `{{ "` + strings.Repeat("x", 10000) + ` }}`,
		"a long failing action":            `{{ index variables ` + strings.Repeat(`"x" `, 2000) + `}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := renderQuery("test/m", text, varsFor(newCanary("podinfo"), flaggerv1.CanaryMetric{Name: "m"}))
			if err == nil || len(err.Error()) > 400 {
				t.Errorf("error of %d characters: %.200v", len(fmt.Sprint(err)), err)
			}
		})
	}
}

func TestVariablesCannotEndTheStringTheyAreIn(t *testing.T) {
	cases := map[string]struct {
		value string // the templateVariables value
		ok    bool   // whether it is rendered
	}{
		"a name":                          {value: "podinfo-canary", ok: true},
		"a regular expression":            {value: "podinfo-[0-9a-z]+(-[0-9a-z]+)?|other.*", ok: true},
		"an escaped backslash":            {value: `podinfo-\\d+`, ok: true},
		"an escaped double quote":         {value: `say \"hi\"`, ok: true},
		"a newline escape":                {value: `a\nb`, ok: true},
		"a numeric escape":                {value: `\u00e9t\u00e9`},
		"an octal escape past a byte":     {value: `\700`},
		"unicode text":                    {value: "été", ok: true},
		"an empty value":                  {value: "", ok: true},
		"a bare double quote":             {value: `x"} or vector(1) or up{a="`},
		"a single quote":                  {value: `x'} or vector(1) or up{a='`},
		"a backquote":                     {value: "x` or vector(1)"},
		"a trailing backslash":            {value: `podinfo\`},
		"a backslash before a quote pair": {value: `\\"`},
		"an unknown escape":               {value: `podinfo-\d+`},
		"a hex escape":                    {value: `\x41`},
		"invalid UTF-8":                   {value: "caf\xe9"},
		"a newline":                       {value: "a\nb"},
		"a NUL byte":                      {value: "a\x00b"},
		"a DEL byte":                      {value: "a\x7fb"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			metric := flaggerv1.CanaryMetric{Name: "m", TemplateVariables: map[string]flaggerv1.TemplateVariable{"v": flaggerv1.TemplateVariable(tc.value)}}
			got, err := renderQuery("test/m", `up{job="{{ variables.v }}"}`, varsFor(newCanary("podinfo"), metric))
			if !tc.ok {
				if err == nil || !strings.HasPrefix(err.Error(), "templateVariables.v is placed inside a quoted PromQL string") {
					t.Fatalf("rendered %q (error %v), want a refusal", got, err)
				}
				return
			}
			if err != nil || got != `up{job="`+tc.value+`"}` {
				t.Fatalf("query %q, error %v", got, err)
			}
			assertOneStringLiteral(t, tc.value)
		})
	}
}

// assertOneStringLiteral checks that value between double quotes is one
// complete string literal: PromQL strings follow Go's escaping rules.
func assertOneStringLiteral(t *testing.T, value string) {
	t.Helper()
	if _, err := strconv.Unquote(`"` + value + `"`); err != nil {
		t.Errorf("%q between double quotes is not one string literal: %v", value, err)
	}
	if strings.ContainsAny(value, "'`") {
		t.Errorf("%q could end a single-quoted or raw string", value)
	}
}

// A value the renderer accepts never ends the quoted string it is placed
// in, so it cannot add matchers, operators or queries.
func FuzzRenderVariablesStayInsideLabelMatcher(f *testing.F) {
	for _, seed := range []string{
		"podinfo", `x"} or vector(1) or up{a="`, `\`, `\\`, `\"`, `\\\"`, "a'b", "a`b", `\x41`, `\u12`, `\101`, `\8`, "\n", "é\"", `\700`, "\xff",
	} {
		f.Add(seed)
	}
	canary := newCanary("podinfo")
	f.Fuzz(func(t *testing.T, value string) {
		metric := flaggerv1.CanaryMetric{Name: "m", TemplateVariables: map[string]flaggerv1.TemplateVariable{"v": flaggerv1.TemplateVariable(value)}}
		got, err := renderQuery("fuzz", `up{job="{{ variables.v }}"}`, varsFor(canary, metric))
		if err != nil {
			return
		}
		if got != `up{job="`+value+`"}` {
			t.Fatalf("query %q, want the value placed as it is", got)
		}
		assertOneStringLiteral(t, value)
	})
}

// Whatever the template, a render ends within its budget and its output
// within maxQueryLength.
func FuzzRenderQueryBudget(f *testing.F) {
	for _, seed := range []string{
		kib + `{{ $s = print $s $s $s $s $s $s $s $s }}{{ $s = print $s $s $s $s $s $s $s $s }}`,
		`{{ range variables }}{{ printf "%0999d" 1 }}{{ end }}`,
		`{{ html (print variables) }}{{ js "'" }}{{ urlquery "é" }}`,
		`{{ printf "%s" (slice "abc" 1) }}{{ len variables }}`,
	} {
		f.Add(seed)
	}
	canary := newCanary("podinfo")
	metric := flaggerv1.CanaryMetric{Name: "m", TemplateVariables: map[string]flaggerv1.TemplateVariable{"a": "x", "b": "y"}}
	f.Fuzz(func(t *testing.T, text string) {
		got, err := renderQuery("fuzz", text, varsFor(canary, metric))
		if err == nil && len(got) > maxQueryLength {
			t.Fatalf("rendered %d bytes", len(got))
		}
	})
}

// BenchmarkRenderHostileTemplate renders the most expensive template the
// budget lets through: 16 KiB of string building.
//
//	go test ./internal/metrics -run '^$' -bench BenchmarkRenderHostileTemplate -benchmem
func BenchmarkRenderHostileTemplate(b *testing.B) {
	text := kib + strings.Repeat(`{{ $s = print $s $s $s $s $s $s $s $s }}`, (maxTemplateLength-len(kib))/42)
	canary := newCanary("podinfo")
	vars := varsFor(canary, flaggerv1.CanaryMetric{Name: "m"})
	for b.Loop() {
		if _, err := renderQuery("bench", text, vars); err == nil {
			b.Fatal("the hostile template rendered")
		}
	}
}
