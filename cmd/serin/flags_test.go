package main

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/serin-dev/serin/internal/alert"
)

// flaggerChartArgs are the arguments Flagger's charts/flagger deployment
// template renders with its default values and meshProvider=appmesh.
var flaggerChartArgs = []string{
	"-log-level=info", "-mesh-provider=appmesh", "-metrics-server=http://prometheus:9090",
	"-enable-config-tracking=true", "-slack-user=flagger",
}

func TestParseFlags(t *testing.T) {
	tests := map[string]struct {
		// args is the command line.
		args []string
		// check inspects the parsed config when no error is expected.
		check func(t *testing.T, c config)
		// wantErr is a part of the error message; empty when none is expected.
		wantErr string
	}{
		"the defaults serve metrics on 8080 and probes on 8081 with config tracking on": {
			check: func(t *testing.T, c config) {
				if c.metricsAddr != ":8080" || c.probeAddr != ":8081" || c.pprofAddr != "" || !c.configTracking || c.concurrency != defaultConcurrency || c.meshProvider != "kubernetes" ||
					c.stepTimeout != 5*time.Minute {
					t.Errorf("defaults: %+v", c)
				}
			},
		},
		"Flagger's chart arguments are accepted": {
			args: flaggerChartArgs,
			check: func(t *testing.T, c config) {
				if c.meshProvider != "appmesh" || c.zap.Level != zapcore.InfoLevel || !c.configTracking || len(c.notes) != 0 {
					t.Errorf("config %+v", c)
				}
			},
		},
		"the global notifier flags become alert targets": {
			args: []string{"-slack-url=https://hooks.slack.com/services/x", "-slack-channel=releases", "-slack-user=serin", "-slack-token=t0k",
				"-slack-proxy-url=http://proxy:3128", "-msteams-url=https://example.webhook.office.com/x", "-msteams-proxy-url=http://proxy:3128", "-cluster-name=prod-eu"},
			check: func(t *testing.T, c config) {
				got := c.alerts.targets()
				want := []alert.Target{
					{Provider: "-slack-url", Type: "slack", Address: "https://hooks.slack.com/services/x", Token: "t0k", Proxy: "http://proxy:3128", Channel: "releases", Username: "serin"},
					{Provider: "-msteams-url", Type: "msteams", Address: "https://example.webhook.office.com/x", Proxy: "http://proxy:3128"},
				}
				if !slices.Equal(got, want) || c.alerts.cluster != "prod-eu" {
					t.Errorf("targets %+v, cluster %q; want %+v and prod-eu", got, c.alerts.cluster, want)
				}
			},
		},
		"Flagger's leader election, port, threadiness and client limits are honoured": {
			args: []string{"-enable-leader-election=true", "-leader-election-namespace=flagger-system", "-port=9090",
				"-threadiness=7", "-kubeconfig-qps=50", "-kubeconfig-burst=80", "-kubeconfig=/tmp/kc", "-master=https://127.0.0.1:6443"},
			check: func(t *testing.T, c config) {
				if !c.leaderElect || c.leaderElectionNS != "flagger-system" || c.metricsAddr != ":9090" || c.concurrency != 7 ||
					c.qps != 50 || c.burst != 80 || c.kubeconfig != "/tmp/kc" || c.master != "https://127.0.0.1:6443" {
					t.Errorf("config %+v", c)
				}
			},
		},
		"-no-cross-namespace-refs and the egress networks are honoured": {
			args: []string{"-no-cross-namespace-refs", "--egress-deny-cidrs=10.0.0.0/8", "--egress-allow-cidrs=10.1.0.0/16"},
			check: func(t *testing.T, c config) {
				if !c.noCrossNamespaceRefs || c.egress == nil || c.egress.String() != "deny 169.254.0.0/16,fe80::/10,fd00:ec2::254/128,100.100.100.200/32,10.0.0.0/8 except 10.1.0.0/16" {
					t.Errorf("config %+v, egress %v", c, c.egress)
				}
			},
		},
		"a step timeout that is not positive is refused": {
			args: []string{"-step-timeout=0s"}, wantErr: "-step-timeout must be positive, not 0s",
		},
		"an egress network that is not a CIDR is refused": {
			args: []string{"-egress-deny-cidrs=10.0.0.0/8,internal.example"}, wantErr: `-egress-deny-cidrs: "internal.example" is neither a CIDR`,
		},
		"Serin's double-dash names keep working": {
			args: []string{"--leader-elect", "--concurrency=2", "--metrics-bind-address=127.0.0.1:0", "--mesh-name=global"},
			check: func(t *testing.T, c config) {
				if !c.leaderElect || c.concurrency != 2 || c.metricsAddr != "127.0.0.1:0" || c.meshName != "global" {
					t.Errorf("config %+v", c)
				}
			},
		},
		"-watch-label-selector shards the operator onto its own lease": {
			args: []string{"-watch-label-selector=sharding.fluxcd.io/key in (shard1)"},
			check: func(t *testing.T, c config) {
				if c.shard.String() != "sharding.fluxcd.io/key in (shard1)" || c.shard.LeaseName() == "serin.flagger.app" {
					t.Errorf("shard %q, lease %q", c.shard, c.shard.LeaseName())
				}
			},
		},
		"a -watch-label-selector that is not a selector is refused": {
			args: []string{"-watch-label-selector=shard in shard1"}, wantErr: `-watch-label-selector: "shard in shard1" is not a label selector`,
		},
		"label prefixes to copy are read": {
			args: []string{"-include-label-prefix=app.kubernetes.io,team"},
			check: func(t *testing.T, c config) {
				if c.includeLabelPrefix != "app.kubernetes.io,team" {
					t.Errorf("includeLabelPrefix %q", c.includeLabelPrefix)
				}
			},
		},
		"config tracking can be turned off": {
			args:  []string{"-enable-config-tracking=false"},
			check: func(t *testing.T, c config) { assertFalse(t, "configTracking", c.configTracking) },
		},
		"Flagger's warning level means warn": {
			args: []string{"-log-level=warning", "-zap-encoding=console"},
			check: func(t *testing.T, c config) {
				if c.zap.Level != zapcore.WarnLevel {
					t.Errorf("level %v, want warn", c.zap.Level)
				}
			},
		},
		"-version is read without checking the rest": {
			args:  []string{"-version", "-mesh-provider=contour"},
			check: func(t *testing.T, c config) { assertTrue(t, "showVersion", c.showVersion) },
		},
		"flags that change nothing leave a note each": {
			args: []string{"-control-loop-interval=5s", "-zap-replace-globals"},
			check: func(t *testing.T, c config) {
				if len(c.notes) != 2 {
					t.Errorf("notes %q, want two", c.notes)
				}
			},
		},
		"an empty unsupported flag is accepted": {
			args:  []string{"-ingress-class="},
			check: func(t *testing.T, c config) {},
		},
		"a Slack URL that is no URL is refused":            {args: []string{"-slack-url=hooks.slack.com/x"}, wantErr: "-slack-url must be an absolute http or https URL"},
		"a Teams proxy without a Teams URL is refused":     {args: []string{"-msteams-proxy-url=http://proxy:3128"}, wantErr: "-msteams-proxy-url needs -msteams-url"},
		"an ingress class is refused":                      {args: []string{"-ingress-class=nginx"}, wantErr: "-ingress-class is not supported"},
		"a service mesh kubeconfig is refused":             {args: []string{"-kubeconfig-service-mesh=/k"}, wantErr: "-kubeconfig-service-mesh is not supported"},
		"an unsupported provider is refused with the list": {args: []string{"-mesh-provider=contour"}, wantErr: `-mesh-provider: provider "contour" is not supported: use kubernetes, appmesh, appmesh:v1beta2, gatewayapi:v1, istio or linkerd`},
		"an unknown level is refused":                      {args: []string{"-log-level=loud"}, wantErr: `unknown level "loud"`},
		"an unknown encoding is refused":                   {args: []string{"-zap-encoding=xml"}, wantErr: "zap-encoding"},
		"a port out of range is refused":                   {args: []string{"-port=70000"}, wantErr: `"70000" is not a port number`},
		"zero workers are refused":                         {args: []string{"-threadiness=0"}, wantErr: "must be at least 1, not 0"},
		"negative client limits are refused":               {args: []string{"-kubeconfig-qps=-1"}, wantErr: "must not be negative"},
		"an unknown flag fails and names it":               {args: []string{"-no-such-flag"}, wantErr: "flag provided but not defined: -no-such-flag"},
		"a positional argument is refused":                 {args: []string{"run"}, wantErr: `unexpected argument "run"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse %q: %v", tc.args, err)
			}
			tc.check(t, c)
		})
	}
}

func assertTrue(t *testing.T, name string, v bool) {
	t.Helper()
	if !v {
		t.Errorf("%s is false, want true", name)
	}
}

func assertFalse(t *testing.T, name string, v bool) {
	t.Helper()
	if v {
		t.Errorf("%s is true, want false", name)
	}
}
