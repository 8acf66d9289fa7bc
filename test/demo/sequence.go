package demo

import (
	"fmt"
	"regexp"
	"strconv"
)

// message kinds of a faulty release, in the order the seed shows them.
const (
	kindNewRevision = iota
	kindStart
	kindAdvance
	kindNoValues
	kindHalt
	kindRollback
	kindFailed
)

// messagePatterns classify the operator's messages about podinfo.<ns>;
// %[1]s is the namespace, %[2]s the provider.
var messagePatterns = []struct {
	kind    int
	pattern string
}{
	{kindNewRevision, `^New revision detected! Scaling up podinfo\.%[1]s$`},
	{kindStart, `^Starting canary analysis for podinfo\.%[1]s$`},
	{kindAdvance, `^Advance podinfo\.%[1]s canary weight (\d+)$`},
	// Before the canary's first requests are scraped its metrics have no
	// values; that is a failed check too, but not one the faults caused.
	{kindNoValues, `^Halt advancement no values found for %[2]s metric request-(success-rate|duration) probably podinfo\.%[1]s is not receiving traffic$`},
	{kindHalt, `^Halt podinfo\.%[1]s advancement (?:success rate (\d+\.\d\d)%% < 99%%|request duration (\S+) > 500ms)$`},
	{kindRollback, `^Rolling back podinfo\.%[1]s failed checks threshold reached 5$`},
	{kindFailed, `^Canary failed! Scaling down podinfo\.%[1]s$`},
}

// CheckRollbackSequence checks the operator's messages of a faulty
// release against the seed's: the analysis starts, the canary advances to
// 5 and 10 (faults are injected later), then halts with values Prometheus
// computed, exactly 5 failed checks in all, the rollback and the
// scale-down last. Any other message is an error.
func CheckRollbackSequence(ns, provider string, msgs []Message) error {
	var kinds []int
	var weights []int
	halts, failedChecks := 0, 0
	for _, m := range msgs {
		kind, groups, ok := classify(ns, provider, m.Text)
		if !ok {
			return fmt.Errorf("unexpected message %q", m.Text)
		}
		switch kind {
		case kindAdvance:
			w, _ := strconv.Atoi(groups[1])
			weights = append(weights, w)
		case kindHalt:
			if err := checkHaltValue(groups); err != nil {
				return fmt.Errorf("%q: %w", m.Text, err)
			}
			halts++
			failedChecks++
		case kindNoValues:
			failedChecks++
		}
		kinds = append(kinds, kind)
	}
	switch {
	case len(weights) < 2 || weights[0] != 5 || weights[1] != 10:
		return fmt.Errorf("canary weights advanced %v, want 5, 10, …", weights)
	case halts == 0:
		return fmt.Errorf("no halt on success rate or request duration")
	case failedChecks != 5:
		return fmt.Errorf("%d failed checks before the rollback, want 5", failedChecks)
	}
	return checkOrder(kinds)
}

func classify(ns, provider, text string) (int, []string, bool) {
	for _, p := range messagePatterns {
		re := regexp.MustCompile(fmt.Sprintf(p.pattern, regexp.QuoteMeta(ns), regexp.QuoteMeta(provider)))
		if g := re.FindStringSubmatch(text); g != nil {
			return p.kind, g, true
		}
	}
	return 0, nil, false
}

// checkHaltValue: a success rate below the threshold, or a duration over
// it; the values come from PromQL, so any number in range is honest.
func checkHaltValue(groups []string) error {
	if groups[1] != "" {
		v, err := strconv.ParseFloat(groups[1], 64)
		if err != nil || v < 0 || v >= 99 {
			return fmt.Errorf("success rate %q is not a percentage below 99", groups[1])
		}
	}
	return nil
}

// checkOrder: the kinds come in the seed's order (the constants' order),
// except that a check without values may come anywhere between the start
// of the analysis and the rollback.
func checkOrder(kinds []int) error {
	last := -1
	for i, k := range kinds {
		if k == kindNoValues {
			if last < kindStart || last > kindHalt {
				return fmt.Errorf("message %d: a check without values outside the analysis", i+1)
			}
			continue
		}
		if k < last {
			return fmt.Errorf("message %d out of the seed's order", i+1)
		}
		last = k
	}
	if last != kindFailed {
		return fmt.Errorf("the last message is not the scale-down of the failed canary")
	}
	return nil
}
