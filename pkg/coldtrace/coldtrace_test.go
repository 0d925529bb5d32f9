package coldtrace_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/coldtrace"
)

func TestOffWithoutAFile(t *testing.T) {
	r, err := coldtrace.Start(func(string) string { return "" })
	if err != nil || r != nil {
		t.Fatalf("Start without %s = %v, %v; want no recorder", coldtrace.Env, r, err)
	}
	calls := 0
	h := coldtrace.FirstInvocation(r, func(context.Context, string) error { calls++; return nil })
	if err := h(context.Background(), "x"); err != nil || calls != 1 || r.Stop() != nil {
		t.Fatalf("the unwrapped handler: calls %d, err %v", calls, err)
	}
}

func TestTracesThroughTheFirstInvocation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ingest.trace")
	r, err := coldtrace.Start(func(k string) string { return map[string]string{coldtrace.Env: path}[k] })
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	h := coldtrace.FirstInvocation(r, func(context.Context, int) error {
		if fi, err := os.Stat(path); err == nil {
			sizes = append(sizes, fi.Size())
		}
		return nil
	})
	for i := range 3 {
		if err := h(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "go 1.") {
		t.Fatalf("%s does not start with a Go trace header: %q", path, b[:min(len(b), 16)])
	}
	fi, _ := os.Stat(path)
	if len(sizes) != 3 || sizes[2] != fi.Size() {
		t.Errorf("the trace grew after the first invocation: sizes during calls %v, final %d", sizes, fi.Size())
	}
	if _, err := coldtrace.Start(func(string) string { return filepath.Join(t.TempDir(), "no", "such", "dir", "t") }); err == nil {
		t.Error("Start into a missing directory gave no error")
	}
}
