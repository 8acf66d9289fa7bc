package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/view"
)

func TestTablesLineUpWithAndWithoutColour(t *testing.T) {
	rows := [][]cell{{{text: "podinfo"}, {text: "Failed", color: red}, {text: "0"}}, {{text: "a"}, {text: "Succeeded", color: green}, {text: "50"}}}
	for name, p := range map[string]painter{"plain": {}, "coloured": {on: true}} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			p.table(&b, "", []string{"NAME", "STATUS", "WEIGHT"}, rows)
			plain := stripANSI(b.String())
			want := "NAME     STATUS     WEIGHT\npodinfo  Failed     0\na        Succeeded  50\n"
			if plain != want {
				t.Errorf("table:\n%s\nwant:\n%s", plain, want)
			}
			if hasColour := strings.Contains(b.String(), "\x1b["); hasColour != p.on {
				t.Errorf("colour codes present = %v, want %v", hasColour, p.on)
			}
		})
	}
}

func TestAutoColourIsOffWhenTheOutputIsNotATerminal(t *testing.T) {
	if newPainter("auto", &bytes.Buffer{}).on {
		t.Error("colour on for a buffer")
	}
	if !newPainter("always", &bytes.Buffer{}).on || newPainter("never", &bytes.Buffer{}).on {
		t.Error("--color always/never not honoured")
	}
}

func TestUnknownOutputAndColourValuesAreRefusedByName(t *testing.T) {
	for _, o := range []options{{output: "wide", color: "auto"}, {output: "json", color: "sometimes"}} {
		err := o.validate()
		if err == nil || (!strings.Contains(err.Error(), "--output \"wide\"") && !strings.Contains(err.Error(), "--color \"sometimes\"")) {
			t.Errorf("validate(%+v) = %v", o, err)
		}
	}
}

func TestStatusDrawsOneWeightBarPerStep(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 11, 25, 18, 55, 52, 0, time.UTC))
	d := view.Detail{
		Summary: view.Summary{Namespace: "test", Name: "podinfo", Phase: "Progressing", Weight: 50, Threshold: 5},
		Target:  "Deployment/podinfo", Strategy: "canary", Interval: "2s",
		Timeline: []flaggerv1.HistoryRecord{
			{Phase: flaggerv1.CanaryPhaseProgressing, Time: at, CanaryWeight: 0, Passed: true,
				Checks: []flaggerv1.CheckResult{{Name: "request-success-rate", Kind: "metric", Value: "100.00", Passed: true}}, Decision: "Advance podinfo.test canary weight 50"},
			{Phase: flaggerv1.CanaryPhaseProgressing, Time: at, CanaryWeight: 50},
		},
	}
	var b bytes.Buffer
	writeDetail(&b, painter{}, d)
	out := b.String()
	for _, want := range []string{
		"18:55:52 UTC  Progressing  0       ░░░░░░░░░░░░░░░░░░░░  1/1     Advance podinfo.test canary weight 50",
		"18:55:52 UTC  Progressing  50      ██████████░░░░░░░░░░  -",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status misses %q:\n%s", want, out)
		}
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
