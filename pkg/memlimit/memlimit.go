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
