package main

import (
	"io"
	"strings"
	"testing"

	"github.com/serin-dev/serin/internal/replay"
)

func TestReplayIsSelectedOnlyByItsFirstArgument(t *testing.T) {
	tests := map[string]struct {
		args []string
		want bool
	}{
		"serin replay":                               {args: []string{"replay", "-f", "c.yaml"}, want: true},
		"the operator with Flagger's flags":          {args: flaggerChartArgs},
		"the operator without arguments":             {},
		"a flag whose value is replay stays a flag":  {args: []string{"-namespace", "replay"}},
		"a later replay argument is not the command": {args: []string{"-mesh-provider=appmesh", "replay"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := selectsReplay(tc.args); got != tc.want {
				t.Errorf("selectsReplay(%q) = %v, want %v", tc.args, got, tc.want)
			}
		})
	}
}

func TestParseReplayFlags(t *testing.T) {
	window := []string{"--from", "2026-11-25T18:50:00Z", "--to", "2026-11-25T19:05:00Z"}
	base := append([]string{"-f", "canary.yaml", "--prometheus", "http://localhost:9090"}, window...)
	tests := map[string]struct {
		// args is the command line after `serin replay`.
		args []string
		// wantPolicy is the policy parsed when no error is expected.
		wantPolicy replay.Policy
		// wantErr is a part of the error message; empty when none is expected.
		wantErr string
	}{
		"the manifest's policy by default":      {args: base, wantPolicy: replay.AsWritten},
		"--judge":                               {args: append(base, "--judge"), wantPolicy: replay.Judge},
		"--thresholds":                          {args: append(base, "--thresholds"), wantPolicy: replay.Thresholds},
		"both policies are refused":             {args: append(base, "--judge", "--thresholds"), wantErr: "--judge and --thresholds exclude each other"},
		"no file":                               {args: append([]string{"--prometheus", "http://p:9090"}, window...), wantErr: "-f: give the Canary's file"},
		"no Prometheus":                         {args: append([]string{"-f", "c.yaml"}, window...), wantErr: "--prometheus"},
		"a time that is not RFC 3339":           {args: []string{"-f", "c", "--prometheus", "p", "--from", "18:50", "--to", "2026-11-25T19:05:00Z"}, wantErr: "is not an RFC 3339 time"},
		"a window that ends before it starts":   {args: []string{"-f", "c", "--prometheus", "p", "--from", "2026-11-25T19:05:00Z", "--to", "2026-11-25T18:50:00Z"}, wantErr: "is not after --from"},
		"a window longer than a week":           {args: []string{"-f", "c", "--prometheus", "p", "--from", "2026-11-01T00:00:00Z", "--to", "2026-11-25T00:00:00Z"}, wantErr: "at most 168h0m0s"},
		"an unknown mesh provider":              {args: append(base, "--mesh-provider", "nginx"), wantErr: `provider "nginx" is not supported`},
		"a stray argument is not taken as file": {args: append(base, "extra.yaml"), wantErr: "unexpected arguments"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := parseReplayFlags(tc.args, io.Discard)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			case tc.wantErr == "" && c.policy != tc.wantPolicy:
				t.Errorf("policy %q, want %q", c.policy, tc.wantPolicy)
			}
		})
	}
}
