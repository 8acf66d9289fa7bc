package memlimit

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestTheLimitComesFromTheCgroup(t *testing.T) {
	tests := map[string]struct {
		// files are the cgroup files under root and their contents.
		files map[string]string
		// want is the container limit read; 0 when there is none.
		want    int64
		wantErr string
	}{
		"cgroup v2 with a limit":       {files: map[string]string{"memory.max": "536870912\n"}, want: 536870912},
		"cgroup v2 without a limit":    {files: map[string]string{"memory.max": "max\n"}},
		"cgroup v1 with a limit":       {files: map[string]string{"memory/memory.limit_in_bytes": "268435456\n"}, want: 268435456},
		"cgroup v1 without a limit":    {files: map[string]string{"memory/memory.limit_in_bytes": "9223372036854771712\n"}},
		"no cgroup files":              {},
		"a value that is not a number": {files: map[string]string{"memory.max": "lots\n"}, wantErr: `"lots" is not a memory limit in bytes`},
		"v2 is read before v1 if both": {files: map[string]string{"memory.max": "1000000", "memory/memory.limit_in_bytes": "2000000"}, want: 1000000},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			for file, content := range tc.files {
				path := filepath.Join(root, file)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, _, err := cgroupLimit(root)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("limit %d, error %v; want %d", got, err, tc.want)
			}
		})
	}
}

// The runtime gets 90 % of the container's limit; GOMEMLIMIT, when set,
// is left to the runtime.
func TestSetGivesTheRuntimeNinetyPercentUnlessGOMEMLIMITIsSet(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "memory.max"), []byte("1000000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOMEMLIMIT", "")
	got, from, err := Set(root)
	if err != nil || got != 900000000 || debug.SetMemoryLimit(-1) != 900000000 {
		t.Errorf("set %d from %q, error %v; runtime limit %d; want 900000000", got, from, err, debug.SetMemoryLimit(-1))
	}
	t.Setenv("GOMEMLIMIT", "300MiB")
	if _, from, err := Set(root); err != nil || from != "GOMEMLIMIT=300MiB" {
		t.Errorf("with GOMEMLIMIT: from %q, error %v", from, err)
	}
}
