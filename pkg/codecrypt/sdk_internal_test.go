package codecrypt

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// goroutineID is the number in the first line of this goroutine's stack
// ("goroutine 7 [running]:"), for telling goroutines apart in a test.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
	return id
}

// Every SDK call runs on the same long-lived goroutine, not the caller's
// and not a fresh one, and a panic in one call leaves the worker serving the next.
func TestRunUsesOneWorker(t *testing.T) {
	ctx := context.Background()
	caller := goroutineID()
	var ids []string
	for i := range 3 {
		id, err := run(ctx, "test", func() (string, error) {
			if i == 1 {
				panic("generated code")
			}
			return goroutineID(), nil
		})
		if i == 1 {
			var ce *Error
			if !errors.As(err, &ce) || ce.Kind != KindInternal {
				t.Fatalf("a panicking call: %v, want a KindInternal *Error", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if ids[0] == caller || ids[0] != ids[1] {
		t.Errorf("calls ran on goroutines %v (caller %s), want one worker that is not the caller", ids, caller)
	}
}
