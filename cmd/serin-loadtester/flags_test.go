package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/serin-dev/serin/internal/loadtester"
)

func TestFlags(t *testing.T) {
	tests := map[string]struct {
		// args is the command line as a chart or a user writes it.
		args []string
		// check inspects the result when no error is expected.
		check func(t *testing.T, cfg loadtester.Config, opts options)
		// wantErr is a part of the expected error; empty when none.
		wantErr string
	}{
		"Flagger's loadtester chart arguments are honoured": {
			args: []string{"-port=8080", "-log-level=info", "-timeout=1h", "-namespace-regexp="},
			check: func(t *testing.T, cfg loadtester.Config, opts options) {
				if opts.listenAddress != ":8080" || opts.logLevel != slog.LevelInfo || cfg.Policy.DefaultTimeout != time.Hour || opts.namespaceRegexp != "" {
					t.Errorf("cfg %+v opts %+v", cfg, opts)
				}
			},
		},
		"a single-dash port, namespace filter and output logging are read as long flags": {
			args: []string{"-port=9090", "-namespace-regexp=prod|test", "-log-cmd-output", "-timeout=5m", "-log-level=warning", "-zap-encoding=console"},
			check: func(t *testing.T, cfg loadtester.Config, opts options) {
				if opts.listenAddress != ":9090" || opts.namespaceRegexp != "prod|test" || !cfg.Policy.LogOutput ||
					cfg.Policy.DefaultTimeout != 5*time.Minute || opts.logLevel != slog.LevelWarn || !opts.logText {
					t.Errorf("cfg %+v opts %+v", cfg, opts)
				}
			},
		},
		"Serin's double-dash flags keep working": {
			args: []string{"--listen-address=127.0.0.1:0", "--gate-store=file", "--allow-program=ghz"},
			check: func(t *testing.T, cfg loadtester.Config, opts options) {
				if opts.listenAddress != "127.0.0.1:0" || opts.gateStore != "file" || len(opts.extraPrograms) != 1 {
					t.Errorf("opts %+v", opts)
				}
			},
		},
		"fatal means error": {
			args:  []string{"-log-level=fatal"},
			check: func(t *testing.T, _ loadtester.Config, opts options) { wantLevel(t, opts.logLevel, slog.LevelError) },
		},
		"zap-replace-globals is accepted with a note": {
			args: []string{"-zap-replace-globals"},
			check: func(t *testing.T, _ loadtester.Config, opts options) {
				if len(opts.notes) != 1 {
					t.Errorf("notes %q, want one", opts.notes)
				}
			},
		},
		"an unknown level is refused":     {args: []string{"-log-level=loud"}, wantErr: `unknown level "loud"`},
		"an unknown encoding is refused":  {args: []string{"-zap-encoding=xml"}, wantErr: `unknown encoding "xml"`},
		"a bad port is refused":           {args: []string{"-port=http"}, wantErr: `"http" is not a port number`},
		"an unknown flag fails naming it": {args: []string{"-no-such-flag"}, wantErr: "unknown flag: --no-such-flag"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, opts := loadtester.DefaultConfig(), options{}
			fs := pflag.NewFlagSet("serin-loadtester", pflag.ContinueOnError)
			fs.SetOutput(&strings.Builder{})
			bindFlags(fs, &cfg, &opts)
			err := fs.Parse(longFlags(tc.args))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse %q: %v", tc.args, err)
			}
			tc.check(t, cfg, opts)
		})
	}
}

func wantLevel(t *testing.T, got, want slog.Level) {
	t.Helper()
	if got != want {
		t.Errorf("level %v, want %v", got, want)
	}
}
