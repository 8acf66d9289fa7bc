package loadtester

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// parseCases are command lines and how ParseCommand must treat them, with "hey" and "echo"
// allowed.
var parseCases = map[string]struct {
	line string   // the command line as written in metadata.cmd
	want []string // the expected argument vector, nil when the line must be refused
	// construct is a substring of the refused construct, empty when the line is accepted
	construct string
}{
	"a plain hey command splits on spaces": {
		line: "hey -z 2m -q 10 -c 2 http://podinfo.test:9898/",
		want: []string{"hey", "-z", "2m", "-q", "10", "-c", "2", "http://podinfo.test:9898/"},
	},
	"tabs and repeated spaces separate words": {
		line: "  hey\t\t-c  2   url ", want: []string{"hey", "-c", "2", "url"},
	},
	"single quotes keep metacharacters literally": {
		line: `hey -H 'Content-Type: application/json; charset=utf-8' -d '{"a":"$(x)"}' u`,
		want: []string{"hey", "-H", "Content-Type: application/json; charset=utf-8",
			"-d", `{"a":"$(x)"}`, "u"},
	},
	"double quotes keep operators literally": {
		line: `hey -H "X-A: a|b&c;d>e" u`, want: []string{"hey", "-H", "X-A: a|b&c;d>e", "u"},
	},
	"an escaped dollar inside double quotes is literal": {
		line: `echo "cost \$5 \"q\" \\ \n"`, want: []string{"echo", `cost $5 "q" \ \n`},
	},
	"a backslash outside quotes escapes the next character": {
		line: `echo a\;b \$HOME \|`, want: []string{"echo", "a;b", "$HOME", "|"},
	},
	"an empty quoted string is an argument": {
		line: `echo '' ""`, want: []string{"echo", "", ""},
	},
	"adjacent quoted parts form one word": {
		line: `echo a'b c'"d"e`, want: []string{"echo", "ab cde"},
	},
	"a hash inside a word is literal": {
		line: "hey http://x/#frag", want: []string{"hey", "http://x/#frag"},
	},
	"an unquoted ampersand in a URL is refused": {
		line: "hey http://x/?a=1&b=2", construct: "background",
	},
	"query strings, globs and braces are literal": {
		line: "hey http://x/?a=1 * [a] {b,c} ~", want: []string{"hey", "http://x/?a=1", "*", "[a]", "{b,c}", "~"},
	},
	"a pipe is refused":                       {line: "hey u | sh", construct: "pipe"},
	"a pipe without spaces is refused":        {line: "hey u|sh", construct: "pipe"},
	"a semicolon is refused":                  {line: "hey u; rm -rf /", construct: "separator"},
	"an and-list is refused":                  {line: "hey u && id", construct: "and-list"},
	"an or-list is refused":                   {line: "hey u || id", construct: "or-list"},
	"a background operator is refused":        {line: "hey u & id", construct: "background"},
	"an output redirection is refused":        {line: "hey u > /tmp/x", construct: "redirection"},
	"an fd redirection is refused":            {line: "hey u 2>&1", construct: "redirection"},
	"an input redirection is refused":         {line: "hey < /etc/passwd", construct: "redirection"},
	"a here-document is refused":              {line: "hey <<EOF", construct: "here-document"},
	"process substitution is refused":         {line: "hey <(id)", construct: "process substitution"},
	"a subshell is refused":                   {line: "(hey u)", construct: "subshell"},
	"command substitution is refused":         {line: "hey $(id)", construct: "command substitution"},
	"quoted command substitution is refused":  {line: `hey "$(id)"`, construct: "command substitution"},
	"backticks are refused":                   {line: "hey `id`", construct: "command substitution"},
	"backticks in double quotes are refused":  {line: "hey \"`id`\"", construct: "command substitution"},
	"arithmetic expansion is refused":         {line: "hey $((1+1))", construct: "arithmetic"},
	"a variable is refused":                   {line: "hey $HOME", construct: "parameter expansion"},
	"a braced variable is refused":            {line: "hey ${IFS}", construct: "parameter expansion"},
	"ANSI-C quoting is refused":               {line: `hey $'\x41'`, construct: "quoting"},
	"a lone dollar is refused":                {line: "hey $", construct: "dollar sign"},
	"a newline is refused":                    {line: "hey u\nid", construct: "newline"},
	"a quoted newline is refused":             {line: "hey 'u\nid'", construct: "newline"},
	"a carriage return is refused":            {line: "hey u\rid", construct: "newline"},
	"a NUL byte is refused":                   {line: "hey u\x00", construct: "control character"},
	"a comment is refused":                    {line: "hey u #x", construct: "comment"},
	"an unterminated single quote is refused": {line: "hey 'u", construct: "unterminated single"},
	"an unterminated double quote is refused": {line: `hey "u`, construct: "unterminated double"},
	"a trailing backslash is refused":         {line: `hey u\`, construct: "trailing backslash"},
	"an empty command is refused":             {line: "   ", construct: "empty command"},
	"an absolute path is refused":             {line: "/bin/sh -c id", construct: `program "/bin/sh"`},
	"a relative path is refused":              {line: "./hey u", construct: `program "./hey"`},
	"a path to an allowed name is refused":    {line: "/usr/bin/hey u", construct: "program"},
	"a program not on the list is refused":    {line: "curl u", construct: `program "curl"`},
	"an env assignment is not a program":      {line: "A=1 hey u", construct: `program "A=1"`},
	"a quoted program name is unquoted":       {line: `'hey' u`, want: []string{"hey", "u"}},
	"an escaped program is still checked":     {line: `\sh -c id`, construct: `program "sh"`},
}

func TestParseCommand(t *testing.T) {
	allowed := []string{"hey", "echo"}
	for name, tc := range parseCases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseCommand(tc.line, allowed)
			if tc.construct == "" {
				if err != nil {
					t.Fatalf("ParseCommand(%q) refused: %v", tc.line, err)
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("ParseCommand(%q) = %q, want %q", tc.line, got, tc.want)
				}
				return
			}
			var cerr *CommandError
			if !errors.As(err, &cerr) {
				t.Fatalf("ParseCommand(%q) = %q, %v; want a *CommandError", tc.line, got, err)
			}
			if !strings.Contains(cerr.Construct, tc.construct) {
				t.Fatalf("refused construct %q, want it to mention %q", cerr.Construct, tc.construct)
			}
			if cerr.Reason == "" {
				t.Fatal("refusal has no reason")
			}
		})
	}
}

// shellQuote single-quotes a word the way a POSIX shell would read it back.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// FuzzParseCommand checks the properties the service's safety rests on, for any input: the
// parser does not panic, an accepted command runs an allowed program, no argument carries a
// newline or control character, and quoting the accepted words and parsing them again gives
// back exactly the same words (so splitting is unambiguous).
func FuzzParseCommand(f *testing.F) {
	for _, seed := range []string{
		"hey -z 2m -q 10 -c 2 http://podinfo.test:9898/", `hey -H 'a: b' "c d" e\ f`,
		"hey u; id", "hey `id`", "hey $(id)", "hey '", `hey "\$x"`, "/bin/sh", "hey u\nid",
		"hey #", "hey a''b", `hey "a\"b"`, "hey <(x)",
	} {
		f.Add(seed)
	}
	allowed := []string{"hey"}
	f.Fuzz(func(t *testing.T, line string) {
		argv, err := ParseCommand(line, allowed)
		if err != nil {
			var cerr *CommandError
			if !errors.As(err, &cerr) || cerr.Reason == "" {
				t.Fatalf("ParseCommand(%q) returned %v, want a *CommandError with a reason", line, err)
			}
			if cerr.Offset >= len(line) {
				t.Fatalf("offset %d is outside the %d-byte line", cerr.Offset, len(line))
			}
			return
		}
		if len(argv) == 0 || argv[0] != "hey" {
			t.Fatalf("ParseCommand(%q) accepted program %q", line, argv)
		}
		for _, arg := range argv {
			if strings.ContainsAny(arg, "\n\r\x00") {
				t.Fatalf("argument %q carries a line break or NUL", arg)
			}
		}
		quoted := make([]string, len(argv))
		for i, arg := range argv {
			quoted[i] = shellQuote(arg)
		}
		again, err := ParseCommand(strings.Join(quoted, " "), allowed)
		if err != nil || !slices.Equal(again, argv) {
			t.Fatalf("re-parsing the quoted words of %q gave %q, %v; want %q", line, again, err, argv)
		}
	})
}
