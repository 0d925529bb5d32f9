// Package coldtrace records a Go execution trace of a function's cold start:
// from main through its first invocation, for `go tool trace`. It is off
// unless the function's environment names a file (COGMAIL_TRACE_FILE), and
// it is meant for a benchmark or a debugging session, not for production:
// package init, which runs before main, is left to GODEBUG=inittrace=1.
//
//	go run ./bench/coldstart -runs 1 -warm 0 -trace /tmp/coldtrace
//	go tool trace /tmp/coldtrace/ingest-1.trace
package coldtrace

import (
	"context"
	"fmt"
	"os"
	"runtime/trace"
	"sync"
)

// Env names the file to write the trace to.
const Env = "COGMAIL_TRACE_FILE"

// Recorder is a running trace; the zero value and nil record nothing.
type Recorder struct {
	f    *os.File
	once sync.Once
}

// Start starts a trace to the file getenv(Env) names, or returns nil (no
// trace) when it names none.
func Start(getenv func(string) string) (*Recorder, error) {
	path := getenv(Env)
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("coldtrace: %w", err)
	}
	if err := trace.Start(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("coldtrace: %w", err)
	}
	return &Recorder{f: f}, nil
}

// Stop ends the trace and closes its file; later calls do nothing.
func (r *Recorder) Stop() error {
	if r == nil || r.f == nil {
		return nil
	}
	var err error
	r.once.Do(func() {
		trace.Stop()
		err = r.f.Close()
	})
	return err
}

// FirstInvocation wraps a Lambda handler so that the trace stops when its
// first invocation returns; with a nil Recorder it returns handler as is.
func FirstInvocation[In any](r *Recorder, handler func(context.Context, In) error) func(context.Context, In) error {
	if r == nil {
		return handler
	}
	return func(ctx context.Context, in In) error {
		err := handler(ctx, in)
		_ = r.Stop()
		return err
	}
}
