// Package steady puts a Lambda function's Go runtime in the state that suits
// its warm invocations once its cold start is over: one P (GOMAXPROCS 1) and
// a memory limit sized to what the process uses (pkg/memlimit's Warm).
//
// A Lambda execution environment hands its function one event at a time,
// and at 256 MB it gets about 0.14 of a vCPU's time spread over the two
// vCPUs it sees (Lambda shows 2 vCPUs up to 3,008 MB). Go 1.25 and later
// read a cgroup CPU limit, but round it up to at least 2
// (runtime.adjustCgroupGOMAXPROCS), so Go 1.26 runs a 256 MB function with
// GOMAXPROCS 2 either way. The second P only buys an idle processor that
// the scheduler spins up and parks around every network wait, paid from
// the function's small CPU share. The cold start keeps both: its
// background warm-ups (the sealing key, the P-384 tables, the queue) run
// beside Build, and one P made the cold start slower.
package steady

import (
	"context"
	"runtime"
	"sync"

	"github.com/cogmail/cogmail/pkg/memlimit"
)

// Procs is the GOMAXPROCS of a warm process: one event at a time needs one P.
const Procs = 1

// Settings is what Apply set; a zero field means it left that one alone.
type Settings struct {
	Procs       int   // GOMAXPROCS
	MemoryLimit int64 // bytes
}

// Apply sets GOMAXPROCS to Procs unless the environment sets GOMAXPROCS
// (the operator's choice stands), and the warm memory limit (memlimit.Warm).
func Apply(getenv func(string) string) Settings {
	var s Settings
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(Procs)
		s.Procs = Procs
	}
	if limit, ok := memlimit.Warm(getenv); ok {
		s.MemoryLimit = limit
	}
	return s
}

// AfterFirst wraps a Lambda handler so that Apply runs once, when its first
// invocation has returned: the cold start ends there.
func AfterFirst[In any](getenv func(string) string, handler func(context.Context, In) error) func(context.Context, In) error {
	var once sync.Once
	return func(ctx context.Context, in In) error {
		err := handler(ctx, in)
		once.Do(func() { Apply(getenv) })
		return err
	}
}
