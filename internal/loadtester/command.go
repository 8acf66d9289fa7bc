package loadtester

import (
	"fmt"
	"slices"
	"strings"
)

// CommandError says which part of a command line was refused and why. Its message is returned
// to the webhook caller verbatim, so it is written for the person who wrote the Canary.
type CommandError struct {
	// Construct names what was found, e.g. `pipe "|"` or `program "/bin/sh"`.
	Construct string
	// Offset is the byte offset of the construct in the command line, or -1 when the problem
	// is not at one place (an empty command, a program not on the allow-list).
	Offset int
	// Reason explains why the construct is refused and what to do instead.
	Reason string
}

func (e *CommandError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("%s is not allowed: %s", e.Construct, e.Reason)
	}
	return fmt.Sprintf("%s at offset %d is not allowed: %s", e.Construct, e.Offset, e.Reason)
}

const (
	reasonNoShell = "commands are executed directly, not by a shell, so it would not do what " +
		"it does in a shell; use one command per webhook, or metadata type bash if the " +
		"service runs with --enable-bash"
	reasonExpansion = "commands are executed directly, not by a shell, so nothing would be " +
		"expanded; write the value literally, or wrap it in single quotes to pass it as is"
	reasonNewline = "a newline separates commands in a shell; put one command in metadata.cmd"
	reasonControl = "control characters cannot be passed to a program safely"
	reasonComment = "a shell would ignore the rest of the line; remove it or quote the \"#\""
	reasonQuote   = "the command line ends inside a quoted string; close the quote"
)

// operators are the shell operators that only make sense to a shell. Longer tokens come first
// so that "&&" is reported as an and-list rather than as two background operators.
var operators = []struct{ token, construct string }{
	{"&&", `and-list "&&"`},
	{"||", `or-list "||"`},
	{";", `command separator ";"`},
	{"<(", `process substitution "<("`},
	{">(", `process substitution ">("`},
	{"&>", `redirection "&>"`},
	{"|", `pipe "|"`},
	{"&", `background operator "&"`},
	{"<<<", `redirection "<<<"`},
	{"<<", `here-document "<<"`},
	{">>", `redirection ">>"`},
	{">&", `redirection ">&"`},
	{"<&", `redirection "<&"`},
	{">|", `redirection ">|"`},
	{"<>", `redirection "<>"`},
	{">", `redirection ">"`},
	{"<", `redirection "<"`},
	{"(", `subshell "("`},
	{")", `subshell ")"`},
}

// ParseCommand splits a command line into an argument vector with POSIX shell quoting rules
// (single quotes, double quotes, backslash escapes) and checks that the program is on the
// allow-list. Anything only a shell could give meaning to — operators, redirections,
// expansions, substitutions, comments, newlines — is refused with a *CommandError instead of
// being passed on literally, because the author clearly expected a shell and would otherwise
// get a silently different command.
//
// The program must be named exactly as on the allow-list; paths ("/bin/sh", "./hey") are
// refused so the allow-list cannot be bypassed by naming another binary with the same base name.
func ParseCommand(line string, allowed []string) ([]string, error) {
	argv, err := SplitWords(line)
	if err != nil {
		return nil, err
	}
	if err := checkProgram(argv[0], allowed); err != nil {
		return nil, err
	}
	return argv, nil
}

// SplitWords is ParseCommand without the allow-list check; it is used for the arguments of
// kubectl and helm tasks, whose program is fixed by the task type.
func SplitWords(line string) ([]string, error) {
	if err := checkControlChars(line); err != nil {
		return nil, err
	}
	s := splitter{src: line}
	if err := s.run(); err != nil {
		return nil, err
	}
	if len(s.args) == 0 {
		return nil, &CommandError{Construct: "empty command", Offset: -1,
			Reason: "metadata.cmd must name a program to run"}
	}
	return s.args, nil
}

func checkProgram(program string, allowed []string) error {
	list := strings.Join(allowed, ", ")
	if strings.ContainsRune(program, '/') {
		return &CommandError{Construct: fmt.Sprintf("program %q", program), Offset: -1,
			Reason: fmt.Sprintf("programs are named without a path and looked up on PATH; "+
				"allowed programs: %s", list)}
	}
	if !slices.Contains(allowed, program) {
		return &CommandError{Construct: fmt.Sprintf("program %q", program), Offset: -1,
			Reason: fmt.Sprintf("it is not on the allow-list (%s); the service operator can "+
				"add it with --allow-program", list)}
	}
	return nil
}

// checkControlChars runs before splitting because newlines and control characters are refused
// even inside quotes: a quoted newline is legal in a shell, but here it is far more likely to
// be an attempt to smuggle a second command than a real argument.
func checkControlChars(line string) error {
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\n' || c == '\r':
			return &CommandError{Construct: "newline", Offset: i, Reason: reasonNewline}
		case (c < 0x20 && c != '\t') || c == 0x7f:
			return &CommandError{Construct: fmt.Sprintf("control character %#x", c), Offset: i,
				Reason: reasonControl}
		}
	}
	return nil
}

// splitter holds the state of one SplitWords call. inWord distinguishes an empty quoted
// argument (”) from no argument at all.
type splitter struct {
	src    string
	args   []string
	word   strings.Builder
	inWord bool
}

func (s *splitter) run() error {
	for i := 0; i < len(s.src); {
		var err error
		switch c := s.src[i]; {
		case c == ' ' || c == '\t':
			s.endWord()
			i++
		case c == '\'':
			i, err = s.singleQuoted(i)
		case c == '"':
			i, err = s.doubleQuoted(i)
		case c == '\\':
			i, err = s.escaped(i)
		case c == '$' || c == '`':
			return expansionError(s.src, i)
		case c == '#' && !s.inWord:
			return &CommandError{Construct: `comment "#"`, Offset: i, Reason: reasonComment}
		default:
			if err := operatorError(s.src, i); err != nil {
				return err
			}
			s.add(c)
			i++
		}
		if err != nil {
			return err
		}
	}
	s.endWord()
	return nil
}

func (s *splitter) add(c byte) {
	s.word.WriteByte(c)
	s.inWord = true
}

func (s *splitter) endWord() {
	if s.inWord {
		s.args = append(s.args, s.word.String())
	}
	s.word.Reset()
	s.inWord = false
}

// singleQuoted copies everything up to the closing quote literally, as a shell does.
func (s *splitter) singleQuoted(start int) (int, error) {
	end := strings.IndexByte(s.src[start+1:], '\'')
	if end < 0 {
		return 0, &CommandError{Construct: "unterminated single quote", Offset: start,
			Reason: reasonQuote}
	}
	s.word.WriteString(s.src[start+1 : start+1+end])
	s.inWord = true
	return start + end + 2, nil
}

// doubleQuoted follows the shell: a backslash escapes only $, `, " and \, and expansions
// remain active, so "$HOME" and "`id`" are refused just as they are outside quotes.
func (s *splitter) doubleQuoted(start int) (int, error) {
	s.inWord = true
	for i := start + 1; i < len(s.src); {
		switch c := s.src[i]; c {
		case '"':
			return i + 1, nil
		case '$', '`':
			return 0, expansionError(s.src, i)
		case '\\':
			if i+1 < len(s.src) && strings.IndexByte("$`\"\\", s.src[i+1]) >= 0 {
				s.word.WriteByte(s.src[i+1])
				i += 2
				continue
			}
			s.word.WriteByte(c)
			i++
		default:
			s.word.WriteByte(c)
			i++
		}
	}
	return 0, &CommandError{Construct: "unterminated double quote", Offset: start,
		Reason: reasonQuote}
}

// escaped handles a backslash outside quotes: the next byte is taken literally.
func (s *splitter) escaped(i int) (int, error) {
	if i+1 >= len(s.src) {
		return 0, &CommandError{Construct: `trailing backslash "\"`, Offset: i,
			Reason: "there is nothing left to escape; remove it or double it"}
	}
	s.add(s.src[i+1])
	return i + 2, nil
}

func operatorError(src string, i int) error {
	for _, op := range operators {
		if strings.HasPrefix(src[i:], op.token) {
			return &CommandError{Construct: op.construct, Offset: i, Reason: reasonNoShell}
		}
	}
	return nil
}

// expansionError names the expansion starting at src[i] ('$' or '`') as precisely as it can,
// so the message tells the author what the shell would have done.
func expansionError(src string, i int) error {
	rest := src[i:]
	var construct string
	switch {
	case rest[0] == '`':
		construct = "command substitution \"`…`\""
	case strings.HasPrefix(rest, "$(("):
		construct = `arithmetic expansion "$((…))"`
	case strings.HasPrefix(rest, "$("):
		construct = `command substitution "$(…)"`
	case strings.HasPrefix(rest, "${"):
		construct = `parameter expansion "${…}"`
	case strings.HasPrefix(rest, "$'") || strings.HasPrefix(rest, `$"`):
		construct = `quoting "` + rest[:2] + `…"`
	case len(rest) > 1 && isParamStart(rest[1]):
		construct = `parameter expansion "$` + rest[1:2] + `…"`
	default:
		construct = `dollar sign "$"`
	}
	return &CommandError{Construct: construct, Offset: i, Reason: reasonExpansion}
}

func isParamStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || strings.IndexByte("@*#?$!-", c) >= 0
}
