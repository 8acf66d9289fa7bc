package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
	"sigs.k8s.io/yaml"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// ANSI colours; painter leaves text plain when colour is off.
const (
	red    = "31"
	green  = "32"
	yellow = "33"
	blue   = "34"
	bold   = "1"
	faint  = "2"
)

// painter colours text when the output is a terminal.
type painter struct{ on bool }

// newPainter decides on colour: --color always or never, or on auto only
// when out is a terminal and NO_COLOR is not set (no-color.org).
func newPainter(mode string, out io.Writer) painter {
	switch mode {
	case "always":
		return painter{on: true}
	case "never":
		return painter{}
	}
	f, ok := out.(*os.File)
	_, noColor := os.LookupEnv("NO_COLOR")
	return painter{on: ok && !noColor && term.IsTerminal(int(f.Fd()))}
}

func (p painter) paint(code, s string) string {
	if !p.on || code == "" || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// phaseColor is the colour of a phase: green when promoted, red when
// failed, yellow while a release is under way.
func phaseColor(p string) string {
	switch flaggerv1.CanaryPhase(p) {
	case flaggerv1.CanaryPhaseSucceeded:
		return green
	case flaggerv1.CanaryPhaseFailed:
		return red
	case flaggerv1.CanaryPhaseProgressing, flaggerv1.CanaryPhasePromoting, flaggerv1.CanaryPhaseFinalising,
		flaggerv1.CanaryPhaseWaiting, flaggerv1.CanaryPhaseWaitingPromotion:
		return yellow
	}
	return ""
}

// verdict is a check's result mark.
func (p painter) verdict(passed bool) string {
	if passed {
		return p.paint(green, "✔ passed")
	}
	return p.paint(red, "✘ failed")
}

// cell is one table cell: its text and its colour.
type cell struct {
	text  string
	color string
}

// table writes rows in columns padded by their plain text, so colour
// codes never shift a column; the last column is not padded.
func (p painter) table(w io.Writer, indent string, header []string, rows [][]cell) {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
		}
	}
	line := func(cells []cell) {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range cells {
			b.WriteString(p.paint(c.color, c.text))
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.text)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	hdr := make([]cell, len(header))
	for i, h := range header {
		hdr[i] = cell{text: h, color: faint}
	}
	line(hdr)
	for _, r := range rows {
		line(r)
	}
}

// printData writes v as JSON or YAML.
func printData(w io.Writer, format string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if data, err = yaml.JSONToYAML(data); err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}
