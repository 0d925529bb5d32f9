package steady_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/cogmail/cogmail/pkg/steady"
)

// keepRuntime restores GOMAXPROCS after a test.
func keepRuntime(t *testing.T) {
	procs := runtime.GOMAXPROCS(2)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
}

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

// The first invocation runs as the cold start left the runtime; once it has
// returned the process has one P, set once.
func TestAfterFirst(t *testing.T) {
	keepRuntime(t)
	var during, after []int
	h := steady.AfterFirst(env(nil), func(context.Context, string) error {
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
}

// GOMAXPROCS in the environment is the operator's choice.
func TestApplyLeavesTheOperatorsChoice(t *testing.T) {
	keepRuntime(t)
	if n := steady.Apply(env(map[string]string{"GOMAXPROCS": "2"})); n != 0 {
		t.Errorf("Apply with GOMAXPROCS set: set %d, want nothing", n)
	}
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Errorf("GOMAXPROCS = %d, want 2", got)
	}
}
