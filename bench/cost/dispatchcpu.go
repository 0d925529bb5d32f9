package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// dispatchBench is one message through the dispatcher: a one-message batch
// opened, claimed, sent through an in-process provider and acknowledged.
const dispatchBench = "^BenchmarkFailoverOverhead$/^primary$"

// dispatchCPU measures dispatch's CPU per message: pkg/dispatch's test
// binary runs dispatchBench for 1 and for n iterations, and the difference
// of the two processes' CPU time (getrusage: user + system), over n-1, is
// one message with the set-up left out. CPU time, unlike ns/op, does not
// grow while the machine's cores are busy with other work.
func dispatchCPU(root, tmp string, n int) (time.Duration, error) {
	bin := filepath.Join(tmp, "dispatch.test")
	build := exec.Command("go", "test", "-c", "-o", bin, "./pkg/dispatch")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go test -c ./pkg/dispatch: %w\n%s", err, out)
	}
	cpu := func(iters int) (time.Duration, error) {
		cmd := exec.Command(bin, "-test.run", "^$", "-test.bench", dispatchBench, "-test.benchtime", fmt.Sprintf("%dx", iters))
		cmd.Dir = filepath.Join(root, "pkg", "dispatch")
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("%s: %w\n%s", dispatchBench, err, out)
		}
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			return 0, fmt.Errorf("no rusage on %s", os.Getenv("GOOS"))
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
	}
	one, err := cpu(1)
	if err != nil {
		return 0, err
	}
	many, err := cpu(n)
	if err != nil {
		return 0, err
	}
	if many <= one {
		return 0, fmt.Errorf("%d messages took no more CPU (%s) than one (%s)", n, many, one)
	}
	return (many - one) / time.Duration(n-1), nil
}
