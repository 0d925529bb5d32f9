// Command cpuhog keeps every core busy for a bounded time, for
// `make stress-test`: the test suite must pass on a machine with no CPU to
// spare. It stops by itself after -for, when its parent process exits, or on
// SIGINT/SIGTERM, so a stress run that dies cannot leave it spinning.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

func main() {
	d := flag.Duration("for", 30*time.Minute, "stop after this long")
	n := flag.Int("workers", runtime.NumCPU(), "busy goroutines (default: one per core)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *d)
	defer cancel()
	parent := os.Getppid()
	fmt.Fprintf(os.Stderr, "cpuhog: %d busy workers for at most %s\n", *n, *d)
	for range *n {
		go func() {
			x := uint64(1)
			for ctx.Err() == nil {
				for range 1 << 20 {
					x = x*6364136223846793005 + 1442695040888963407
				}
			}
			_ = x
		}()
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if os.Getppid() != parent {
				return // the stress run is gone
			}
		}
	}
}
