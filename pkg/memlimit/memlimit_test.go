package memlimit_test

import (
	"runtime/debug"
	"testing"

	"github.com/cogmail/cogmail/pkg/memlimit"
)

func TestLimit(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		want int64
		ok   bool
	}{
		{"256 MB function", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}, 192 << 20, true},
		{"128 MB function", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}, 96 << 20, true},
		{"not in Lambda", map[string]string{}, 0, false},
		{"garbage", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"}, 0, false},
		{"zero", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "0"}, 0, false},
		{"GOGC set: the operator's choice stands", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "GOGC": "200"}, 0, false},
		{"GOMEMLIMIT set: the operator's choice stands", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "GOMEMLIMIT": "100MiB"}, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := memlimit.Limit(func(k string) string { return c.env[k] })
			if got != c.want || ok != c.ok {
				t.Errorf("Limit = %d, %v; want %d, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestApply(t *testing.T) {
	prevLimit := debug.SetMemoryLimit(-1)
	prevGC := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetMemoryLimit(prevLimit); debug.SetGCPercent(prevGC) })

	if _, ok := memlimit.Apply(func(string) string { return "" }); ok {
		t.Fatal("Apply changed the collector outside Lambda")
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC = %d after a no-op Apply, want 100", got)
	}
	bytes, ok := memlimit.Apply(func(k string) string {
		return map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}[k]
	})
	if !ok || bytes != 192<<20 {
		t.Fatalf("Apply = %d, %v", bytes, ok)
	}
	if got := debug.SetMemoryLimit(-1); got != 192<<20 {
		t.Errorf("memory limit = %d, want %d", got, 192<<20)
	}
	if got := debug.SetGCPercent(100); got != -1 {
		t.Errorf("GOGC = %d, want off (-1)", got)
	}
}
