package analysis

import (
	"bytes"
	"encoding/json"
	"fmt"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/internal/judge"
)

// The judge's evidence lives in status.judge. The API type has the JSON
// shape of judge.State (api/ may not import internal/), so the two convert
// through JSON; a test keeps the shapes equal.

// judgeState reads the evidence of status.judge.
func judgeState(js *flaggerv1.JudgeStatus) (judge.State, error) {
	var st judge.State
	if js == nil {
		return st, nil
	}
	data, err := json.Marshal(js)
	if err != nil {
		return st, fmt.Errorf("read status.judge: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("read status.judge: %w", err)
	}
	return st, nil
}

// judgeStatus writes the evidence for status.judge. A number JSON cannot
// carry (NaN, ±Inf) is an error here rather than a status write the API
// server refuses.
func judgeStatus(st judge.State) (*flaggerv1.JudgeStatus, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("write status.judge: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var js flaggerv1.JudgeStatus
	if err := dec.Decode(&js); err != nil {
		return nil, fmt.Errorf("write status.judge: %w", err)
	}
	return &js, nil
}
