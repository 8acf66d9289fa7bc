package demo

import (
	"bufio"
	"encoding/json"
	"strings"
	"time"

	"github.com/serin-dev/serin/test/framework"
)

// Message is one of the operator's log lines about a canary: the words it
// also sends as a Kubernetes event (the seed's `jq .msg`).
type Message struct {
	Time  time.Time
	Level string
	Text  string
}

// Messages returns the operator's messages about the canary name.namespace
// (e.g. podinfo.test), in order: the lines whose "canary" key names it.
func Messages(op *framework.Operator, canary string) []Message {
	var out []Message
	sc := bufio.NewScanner(strings.NewReader(op.Log()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		// A map, not a struct: encoding/json matches struct fields
		// case-insensitively, and controller-runtime adds a "Canary"
		// object beside the operator's "canary" string.
		var l map[string]json.RawMessage
		if json.Unmarshal(sc.Bytes(), &l) != nil || str(l["canary"]) != canary {
			continue
		}
		m := Message{Level: str(l["level"]), Text: str(l["msg"])}
		m.Time, _ = time.Parse(time.RFC3339Nano, str(l["ts"]))
		out = append(out, m)
	}
	return out
}

// str decodes a JSON string; anything else is "".
func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}
