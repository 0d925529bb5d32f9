package steady_test

import (
	"context"
	"runtime"
	"slices"
	"testing"

	"github.com/cogmail/cogmail/pkg/steady"
)

// keepRuntime restores GOMAXPROCS after a test.
func keepRuntime(t *testing.T) {
	procs := runtime.GOMAXPROCS(2)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
}

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

// The first invocation runs as the cold start left the runtime; the
// second and later ones with one P, set once.
func TestAfterFirst(t *testing.T) {
	keepRuntime(t)
	var during []int
	h := steady.AfterFirst(env(nil), func(context.Context, string) error {
		during = append(during, runtime.GOMAXPROCS(0))
		return nil
	})
	for i := range 3 {
		if err := h(context.Background(), "event"); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			runtime.GOMAXPROCS(2) // a second Apply would set it to 1 again
		}
	}
	if want := []int{2, steady.Procs, 2}; !slices.Equal(during, want) {
		t.Errorf("GOMAXPROCS during invocations 1 to 3: %v, want %v (the cold start's, then set once)", during, want)
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
