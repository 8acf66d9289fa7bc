package history

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

var t0 = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func run(sec int, weight int, passed bool, decision string) *flaggerv1.AnalysisRecord {
	return &flaggerv1.AnalysisRecord{
		Time: metav1.NewTime(t0.Add(time.Duration(sec) * time.Second)), CanaryWeight: weight, Passed: passed, Decision: decision,
		Checks: []flaggerv1.CheckResult{
			{Name: "request-success-rate", Kind: "metric", Value: "99.50", Threshold: ">= 99", Passed: true, Message: "fine"},
			{Name: "latency", Kind: "metric", Value: "900", Threshold: "<= 500", Passed: passed, Message: "900 > 500"},
		},
	}
}

func TestNextRecordsWhatAStepChanged(t *testing.T) {
	progressing := flaggerv1.CanaryStatus{Phase: flaggerv1.CanaryPhaseProgressing, CanaryWeight: 10, LastAppliedSpec: "abc", LastAnalysis: run(0, 10, true, "Advance")}
	tests := map[string]struct {
		after    func(s *flaggerv1.CanaryStatus)
		recorded bool
		want     flaggerv1.HistoryRecord
	}{
		"a condition alone adds nothing": {
			after: func(s *flaggerv1.CanaryStatus) {
				s.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue}}
			},
		},
		"an analysis run is recorded at its time with its checks, a passed check without its message": {
			after: func(s *flaggerv1.CanaryStatus) {
				s.CanaryWeight = 20
				s.LastAnalysis = run(10, 10, true, "Advance podinfo.test canary weight 20")
			},
			recorded: true,
			want: flaggerv1.HistoryRecord{Time: metav1.NewTime(t0.Add(10 * time.Second)), Revision: "abc", Phase: flaggerv1.CanaryPhaseProgressing,
				CanaryWeight: 20, Passed: true, Decision: "Advance podinfo.test canary weight 20", Checks: []flaggerv1.CheckResult{
					{Name: "request-success-rate", Kind: "metric", Value: "99.50", Threshold: ">= 99", Passed: true},
					{Name: "latency", Kind: "metric", Value: "900", Threshold: "<= 500", Passed: true},
				}},
		},
		"a failed check keeps its message": {
			after: func(s *flaggerv1.CanaryStatus) {
				s.FailedChecks = 1
				s.LastAnalysis = run(10, 10, false, "Halt")
			},
			recorded: true,
			want: flaggerv1.HistoryRecord{Time: metav1.NewTime(t0.Add(10 * time.Second)), Revision: "abc", Phase: flaggerv1.CanaryPhaseProgressing,
				CanaryWeight: 10, FailedChecks: 1, Decision: "Halt", Checks: []flaggerv1.CheckResult{
					{Name: "request-success-rate", Kind: "metric", Value: "99.50", Threshold: ">= 99", Passed: true},
					{Name: "latency", Kind: "metric", Value: "900", Threshold: "<= 500", Message: "900 > 500"},
				}},
		},
		"a change of phase without a run is stamped now with the Promoted condition's message": {
			after: func(s *flaggerv1.CanaryStatus) {
				s.Phase, s.CanaryWeight = flaggerv1.CanaryPhasePromoting, 0
				s.Conditions = []metav1.Condition{{Type: flaggerv1.PromotedCondition, Status: metav1.ConditionUnknown, Message: "Copying podinfo.test template spec to podinfo-primary.test"}}
			},
			recorded: true,
			want: flaggerv1.HistoryRecord{Time: metav1.NewTime(t0.Add(time.Minute)), Revision: "abc", Phase: flaggerv1.CanaryPhasePromoting,
				Decision: "Copying podinfo.test template spec to podinfo-primary.test"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := progressing.DeepCopy()
			after := progressing.DeepCopy()
			tc.after(after)
			got := Next(before, after, t0.Add(time.Minute))
			if !tc.recorded {
				if len(got) != 0 {
					t.Fatalf("history = %+v, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("history has %d records, want 1", len(got))
			}
			if !equality.Semantic.DeepEqual(got[0], tc.want) {
				t.Errorf("record =\n%+v\nwant\n%+v", got[0], tc.want)
			}
		})
	}
}

func TestNextKeepsTheLastRecordsWithinTheSchemaBounds(t *testing.T) {
	s := &flaggerv1.CanaryStatus{Phase: flaggerv1.CanaryPhaseProgressing}
	for i := range flaggerv1.HistoryLimit + 5 {
		before := s.DeepCopy()
		s.CanaryWeight = i + 1
		s.History = Next(before, s, t0.Add(time.Duration(i)*time.Second))
	}
	if len(s.History) != flaggerv1.HistoryLimit {
		t.Fatalf("history has %d records, want %d", len(s.History), flaggerv1.HistoryLimit)
	}
	if first, last := s.History[0].CanaryWeight, s.History[len(s.History)-1].CanaryWeight; first != 6 || last != flaggerv1.HistoryLimit+5 {
		t.Errorf("history runs from weight %d to %d, want the last ones, 6 to %d", first, last, flaggerv1.HistoryLimit+5)
	}

	before := s.DeepCopy()
	long := run(99, 1, false, strings.Repeat("é", 2000))
	for range 40 {
		long.Checks = append(long.Checks, flaggerv1.CheckResult{Name: "x", Kind: "metric", Message: strings.Repeat("m", 5000)})
	}
	s.LastAnalysis = long
	rec := Next(before, s, t0)[flaggerv1.HistoryLimit-1]
	if n := utf8.RuneCountInString(rec.Decision); n > maxDecision || !utf8.ValidString(rec.Decision) {
		t.Errorf("decision has %d characters (valid UTF-8 %v), want at most %d", n, utf8.ValidString(rec.Decision), maxDecision)
	}
	if len(rec.Checks) != maxChecks {
		t.Errorf("record has %d checks, want %d", len(rec.Checks), maxChecks)
	}
	for _, c := range rec.Checks {
		if n := utf8.RuneCountInString(c.Message); n > maxMessage {
			t.Fatalf("a check's message has %d characters, want at most %d", n, maxMessage)
		}
	}
}
