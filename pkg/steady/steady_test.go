package steady_test

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/cogmail/cogmail/pkg/memlimit"
	"github.com/cogmail/cogmail/pkg/steady"
)

// keepRuntime restores GOMAXPROCS and the memory limit after a test.
func keepRuntime(t *testing.T) {
	procs := runtime.GOMAXPROCS(2)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs); debug.SetMemoryLimit(limit) })
}

func lambdaEnv(extra map[string]string) func(string) string {
	env := map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// The first invocation runs as the cold start left the runtime; once it has
// returned the process has one P and the warm memory limit, set once.
func TestAfterFirst(t *testing.T) {
	keepRuntime(t)
	debug.SetMemoryLimit(192 << 20) // as memlimit.Apply left it
	var during, after []int
	h := steady.AfterFirst(lambdaEnv(nil), func(context.Context, string) error {
		during = append(during, runtime.GOMAXPROCS(0))
		return nil
	})
	for range 2 {
		if err := h(context.Background(), "event"); err != nil {
			t.Fatal(err)
		}
		after = append(after, runtime.GOMAXPROCS(2)) // a second Apply would set it to 1 again
	}
	if during[0] != 2 {
		t.Errorf("the first invocation ran with GOMAXPROCS %d, want the cold start's 2", during[0])
	}
	if after[0] != steady.Procs || after[1] != 2 {
		t.Errorf("GOMAXPROCS after invocations 1 and 2: %v, want %d (set once the first returned) and 2 (not set again)", after, steady.Procs)
	}
	if got := debug.SetMemoryLimit(-1); got >= 192<<20 || got < memlimit.Headroom {
		t.Errorf("memory limit after the cold start: %d, want below 192 MiB and at least the headroom", got)
	}
}

// GOMAXPROCS in the environment is the operator's choice; outside Lambda
// the memory limit is left alone.
func TestApplyLeavesTheOperatorsChoice(t *testing.T) {
	keepRuntime(t)
	if s := steady.Apply(lambdaEnv(map[string]string{"GOMAXPROCS": "2", "GOMEMLIMIT": "100MiB"})); s != (steady.Settings{}) {
		t.Errorf("Apply with GOMAXPROCS and GOMEMLIMIT set: %+v, want nothing set", s)
	}
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS = %d, want 2", got)
	}
	limit := debug.SetMemoryLimit(-1)
	if s := steady.Apply(func(string) string { return "" }); s.MemoryLimit != 0 || s.Procs != steady.Procs {
		t.Errorf("Apply outside Lambda: %+v, want only GOMAXPROCS", s)
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("memory limit changed outside Lambda: %d, was %d", got, limit)
	}
}
