// Package memlimit sets a Lambda function's garbage collector from its
// configured memory. A Lambda process has its memory to itself and lives
// for minutes to hours, so collecting every time the heap doubles (GOGC=100,
// from a 4 MB start) only spends CPU: it ran a collection during the first
// event of every cold start, about 3.5 ms of the ingest bootstrap's. Instead
// the heap may grow to a fixed share of the function's memory
// (GOMEMLIMIT), and the proportional collector is off (GOGC=off), as the Go
// GC guide suggests for a program that owns its memory.
package memlimit

import (
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
)

// Share is the part of the function's memory the Go heap may use before it
// is collected; the rest is for the binary, stacks and the OS.
const Share = 0.75

// Limit returns the memory limit for a function given its environment: Share
// of AWS_LAMBDA_FUNCTION_MEMORY_SIZE (MB), or ok false when that is not a
// positive number, or when GOGC or GOMEMLIMIT is set (the operator's choice
// stands).
func Limit(getenv func(string) string) (bytes int64, ok bool) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	mb, err := strconv.ParseInt(strings.TrimSpace(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")), 10, 64)
	if err != nil || mb <= 0 {
		return 0, false
	}
	return int64(float64(mb<<20) * Share), true
}

// Apply sets the limit Limit chooses and turns the proportional collector
// off, and says what it set; without a limit it changes nothing.
func Apply(getenv func(string) string) (bytes int64, ok bool) {
	bytes, ok = Limit(getenv)
	if !ok {
		return 0, false
	}
	debug.SetMemoryLimit(bytes)
	debug.SetGCPercent(-1)
	return bytes, true
}

// Headroom is how much the process's memory may grow past what it uses at
// the end of its cold start before a collection runs, once it is warm.
const Headroom = 16 << 20

// Warm lowers the limit, at the end of the cold start, to the memory the
// Go runtime holds then plus Headroom (never above Limit's): each warm
// event allocates a few hundred KiB, and with the limit at Share of the
// function's memory every event touched memory the process had never used
// (page faults, cold cache lines) until the heap reached 192 MiB. With the
// smaller limit a collection runs every few dozen events and later events
// reuse memory that is already mapped and warm. The cold start itself still
// runs with Apply's limit, with no collection. Like Limit, it changes
// nothing where Limit says no.
func Warm(getenv func(string) string) (bytes int64, ok bool) {
	most, ok := Limit(getenv)
	if !ok {
		return 0, false
	}
	bytes = min(most, inUse()+Headroom)
	debug.SetMemoryLimit(bytes)
	return bytes, true
}

// inUse is the memory the Go runtime holds from the OS and has not
// returned: what the memory limit counts.
func inUse() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	var v [2]int64
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = int64(s[i].Value.Uint64())
		}
	}
	return v[0] - v[1]
}
