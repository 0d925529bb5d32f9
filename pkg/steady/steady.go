// Package steady puts a Lambda function's Go runtime in the state that suits
// its warm invocations once its cold start is over: one P (GOMAXPROCS 1).
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
//
// A memory limit sized to the process (its memory at the end of the cold
// start plus some headroom, so that warm events reuse mapped memory) was
// measured too and is not applied: it cut the page faults per warm event
// by a third but its collections cost more CPU than that saved
// (docs/benchmarks.md, issue 21).
package steady

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Procs is the GOMAXPROCS of a warm process: one event at a time needs one P.
const Procs = 1

// Apply sets GOMAXPROCS to Procs unless the environment sets GOMAXPROCS
// (the operator's choice stands), and returns what it set (0: nothing).
func Apply(getenv func(string) string) (procs int) {
	if getenv("GOMAXPROCS") != "" {
		return 0
	}
	runtime.GOMAXPROCS(Procs)
	return Procs
}

// AfterFirst wraps a Lambda handler so that Apply runs once the first
// invocation is over: at the start of the second, so that changing
// GOMAXPROCS (which stops the world) never delays the first answer, which
// is part of the cold start.
func AfterFirst[In any](getenv func(string) string, handler func(context.Context, In) error) func(context.Context, In) error {
	var calls atomic.Int64
	var once sync.Once
	return func(ctx context.Context, in In) error {
		if calls.Add(1) > 1 {
			once.Do(func() { Apply(getenv) })
		}
		return handler(ctx, in)
	}
}
