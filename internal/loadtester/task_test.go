package loadtester

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// taskCases are webhook metadata and the Task (or refusal) they must give under a policy
// that enables every type.
var taskCases = map[string]struct {
	meta       map[string]string // webhook metadata
	wantArgv   []string          // expected argument vector when accepted
	wantAsync  bool              // whether the task runs in the background
	wantTime   time.Duration     // expected timeout when accepted
	wantStatus int               // expected refusal status, 0 when accepted
}{
	"no type means an async cmd": {
		meta:     map[string]string{"cmd": "hey -z 1m http://app/"},
		wantArgv: []string{"hey", "-z", "1m", "http://app/"}, wantAsync: true, wantTime: time.Minute,
	},
	"bash runs the line with bash -c and blocks": {
		meta:     map[string]string{"type": "bash", "cmd": "curl -s x | grep ok"},
		wantArgv: []string{"bash", "-c", "curl -s x | grep ok"}, wantTime: time.Minute,
	},
	"kubectl arguments are split without a shell": {
		meta:     map[string]string{"type": "kubectl", "cmd": "get pods -n 'my ns'"},
		wantArgv: []string{"kubectl", "get", "pods", "-n", "my ns"}, wantTime: time.Minute,
	},
	"a leading kubectl is not doubled": {
		meta:     map[string]string{"type": "kubectl", "cmd": "kubectl get pods"},
		wantArgv: []string{"kubectl", "get", "pods"}, wantTime: time.Minute,
	},
	"helmv3 runs helm and drops a leading helmv3": {
		meta:     map[string]string{"type": "helmv3", "cmd": "helmv3 test podinfo", "timeout": "90s"},
		wantArgv: []string{"helm", "test", "podinfo"}, wantTime: 90 * time.Second,
	},
	"a timeout in plain seconds is accepted": {
		meta:     map[string]string{"type": "helm", "cmd": "test podinfo", "timeout": "120"},
		wantArgv: []string{"helm", "test", "podinfo"}, wantTime: 2 * time.Minute,
	},
	"a kubectl pipe is refused even when kubectl is enabled": {
		meta: map[string]string{"type": "kubectl", "cmd": "get pods | sh"}, wantStatus: http.StatusBadRequest,
	},
	"a zero timeout is refused": {
		meta: map[string]string{"cmd": "hey http://u/", "timeout": "0s"}, wantStatus: http.StatusBadRequest,
	},
	"a negative timeout is refused": {
		meta: map[string]string{"cmd": "hey http://u/", "timeout": "-5"}, wantStatus: http.StatusBadRequest,
	},
	"a timeout that is not a duration is refused": {
		meta: map[string]string{"cmd": "hey http://u/", "timeout": "soon"}, wantStatus: http.StatusBadRequest,
	},
}

func TestPolicyTask(t *testing.T) {
	pol := Policy{
		AllowedPrograms: []string{"hey"},
		EnableBash:      true, EnableKubectl: true, EnableHelm: true,
		DefaultTimeout: time.Minute, MaxTimeout: time.Hour, Hey: DefaultHeyLimits(),
	}
	for name, tc := range taskCases {
		t.Run(name, func(t *testing.T) {
			task, rerr := pol.Task(Payload{Name: "podinfo", Namespace: "test", Metadata: tc.meta})
			if tc.wantStatus != 0 {
				if rerr == nil || rerr.Status != tc.wantStatus {
					t.Fatalf("Task = %+v, %v; want a refusal with status %d", task, rerr, tc.wantStatus)
				}
				return
			}
			if rerr != nil {
				t.Fatalf("Task refused: %v", rerr)
			}
			if !slices.Equal(task.Argv, tc.wantArgv) || task.Async != tc.wantAsync || task.Timeout != tc.wantTime {
				t.Fatalf("Task = argv %q async %v timeout %s; want %q %v %s",
					task.Argv, task.Async, task.Timeout, tc.wantArgv, tc.wantAsync, tc.wantTime)
			}
			if task.Canary != "podinfo.test" {
				t.Fatalf("canary %q, want podinfo.test", task.Canary)
			}
		})
	}
}

func TestOutputFlagsAreRead(t *testing.T) {
	pol := Policy{AllowedPrograms: []string{"hey"}, DefaultTimeout: time.Minute, MaxTimeout: time.Hour, Hey: DefaultHeyLimits()}
	task, rerr := pol.Task(Payload{Name: "podinfo", Namespace: "test", Metadata: map[string]string{
		"cmd": "hey http://u/", "logCmdOutput": "true", "returnCmdOutput": "TRUE"}})
	if rerr != nil || !task.LogOutput || !task.ReturnOutput {
		t.Fatalf("Task = %+v, %v; want both output flags set", task, rerr)
	}
	task, _ = pol.Task(Payload{Name: "podinfo", Namespace: "test", Metadata: map[string]string{
		"cmd": "hey http://u/", "logCmdOutput": "yes"}})
	if task.LogOutput || task.ReturnOutput {
		t.Fatalf("Task = %+v; only \"true\" enables an output flag", task)
	}
}

func TestLogCmdOutputFlagLogsEveryCommand(t *testing.T) {
	pol := Policy{AllowedPrograms: []string{"hey"}, DefaultTimeout: time.Minute, MaxTimeout: time.Hour, LogOutput: true, Hey: DefaultHeyLimits()}
	task, rerr := pol.Task(Payload{Name: "podinfo", Namespace: "test", Metadata: map[string]string{"cmd": "hey http://u/"}})
	if rerr != nil || !task.LogOutput {
		t.Fatalf("Task = %+v, %v; want LogOutput from the policy", task, rerr)
	}
}

func TestCappedBufferKeepsTheStartOfLongOutput(t *testing.T) {
	b := newCappedBuffer(8)
	for _, chunk := range []string{"12345", "67890", "abc"} {
		if n, err := b.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write(%q) = %d, %v; want the whole chunk accepted", chunk, n, err)
		}
	}
	if got, want := b.String(), "12345678\n[output truncated]"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}
