// Command coldstart measures, in one run on this machine, the cold start of
// the ingest bootstrap against the reference JavaScript handler (Node, the
// @aws-crypto/client-node pattern of the Cognito documentation) doing the
// same work: process exec to the first event handled (decrypt with the KMS
// keyring, enqueue to SQS), with KMS and SQS on loopback. Each process then
// handles -warm more events, which gives the warm duration, the peak resident
// memory and the log bytes per event that bench/cost prices. It also reports
// the stripped linux/arm64 bootstrap size of each function.
//
//	go run ./bench/coldstart [-runs 15] [-warm 10]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/internal/testkit/lambdaruntime"
)

func main() {
	runs := flag.Int("runs", 15, "cold starts per implementation")
	warm := flag.Int("warm", 10, "warm invocations after each cold start")
	inits := flag.Int("inittrace", 0, "instead: run the ingest bootstrap this many times under GODEBUG=inittrace=1 and report its package init")
	traceDir := flag.String("trace", "", "write an execution trace of each Go cold start (main through the first event) to this directory: go tool trace DIR/ingest-N.trace")
	flag.Parse()
	var err error
	if *inits > 0 {
		err = initTrace(*inits)
	} else {
		err = run(*runs, *warm, *traceDir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run(runs, warm int, traceDir string) error {
	ctx := context.Background()
	if traceDir != "" {
		if err := os.MkdirAll(traceDir, 0o755); err != nil {
			return err
		}
	}
	root := fixtures.Root()
	tmp, err := os.MkdirTemp("", "cogmail-coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	bin, err := lambdaruntime.Build(ctx, root, "./functions/ingest", tmp)
	if err != nil {
		return err
	}
	nodeDir := filepath.Join(root, "bench", "coldstart", "node")
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules")); err != nil {
		fmt.Println("installing the reference handler's npm packages (npm ci)...")
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir, cmd.Stdout, cmd.Stderr = nodeDir, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("npm ci: %w", err)
		}
	}

	ev := fixtures.MustLoadEvents()
	stack, err := localstack.Start(ctx, localstack.Options{KMSSeed: fixtures.KMSSeed()})
	if err != nil {
		return err
	}
	defer stack.Close()
	event := ev.ByKeyring("kms")[0].Event // kms-SignUp
	common := []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_ENDPOINT_URL_KMS=" + stack.URL, "AWS_ENDPOINT_URL_SQS=" + stack.URL, "PATH=" + os.Getenv("PATH"), "HOME=" + tmp,
		// Lambda sets it for every function: the template gives ingest 256 MB (pkg/memlimit reads it).
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
	}
	goEnv := append(slices.Clone(common), "AWS_LAMBDA_LOG_FORMAT=JSON", "COGMAIL_KEYRING=kms",
		"COGMAIL_QUEUE_URL="+stack.QueueURL, "COGMAIL_KMS_KEY_ARN="+ev.KMSKeyARN, "COGMAIL_SEAL_KEY_ID="+ev.KMSKeyARN)
	nodeEnv := append(slices.Clone(common), "KEY_ARN="+ev.KMSKeyARN, "QUEUE_URL="+stack.QueueURL)

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return err
	}
	nodeVersion, _ := exec.Command(nodeBin, "--version").Output()
	impls := []struct {
		name   string
		cmd    []string
		env    []string
		stages bool // its log's "enqueued" line carries the stage offsets
	}{
		{"Go ingest bootstrap", []string{bin}, goEnv, true},
		{"Node " + string(trim(nodeVersion)) + " reference handler", []string{nodeBin, filepath.Join(nodeDir, "bootstrap.js")}, nodeEnv, false},
	}
	results := make([][]time.Duration, len(impls))
	warmRuns := make([]warmStats, len(impls))
	var goStages []stages // where the Go bootstrap's cold starts went
	// Interleave the runs so machine load affects both alike.
	for i := 0; i < runs+1; i++ {
		for j, im := range impls {
			env := im.env
			if traceDir != "" && im.stages && i > 0 {
				env = append(slices.Clone(env), fmt.Sprintf("COGMAIL_TRACE_FILE=%s/ingest-%d.trace", traceDir, i))
			}
			r, err := coldStart(ctx, im.cmd, env, event, warm, im.stages)
			if err != nil {
				return fmt.Errorf("%s: %w", im.name, err)
			}
			if i > 0 { // the first run of each warms the page cache
				results[j] = append(results[j], r.cold)
				warmRuns[j].add(r)
				if im.stages {
					goStages = append(goStages, r.stages)
				}
			}
		}
	}

	fmt.Printf("## Cold start: exec to first event handled (%d runs each, %s/%s, %d CPUs)\n\n", runs, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Println("| implementation | median | min | p90 |")
	fmt.Println("| --- | --- | --- | --- |")
	medians := make([]time.Duration, len(impls))
	for j, im := range impls {
		r := results[j]
		slices.Sort(r)
		medians[j] = r[len(r)/2]
		fmt.Printf("| %s | %s | %s | %s |\n", im.name, ms(medians[j]), ms(r[0]), ms(r[len(r)*9/10]))
	}
	fmt.Printf("\nGo / Node median ratio: %.3f (goal: <= 0.08)\n\n", float64(medians[0])/float64(medians[1]))
	printStages(goStages)

	if warm > 0 {
		fmt.Printf("## Warm invocations: %d per process after its cold start; peak RSS and log output over the process's life\n\n", warm)
		fmt.Println("CPU is the process's own (its threads' run time, /proc/PID/task/*/schedstat), so unlike the wall times it")
		fmt.Println("leaves out the loopback endpoints and waiting for a busy machine's cores.")
		fmt.Println()
		fmt.Println("| implementation | warm median | warm p90 | cold CPU | warm CPU/event | peak RSS | log bytes/event |")
		fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
		for j, im := range impls {
			w := warmRuns[j]
			slices.Sort(w.warm)
			slices.Sort(w.rssKiB)
			slices.Sort(w.coldCPU)
			slices.Sort(w.warmCPU)
			fmt.Printf("| %s | %s | %s | %s | %s | %.1f MiB | %d |\n", im.name, ms(w.warm[len(w.warm)/2]), ms(w.warm[len(w.warm)*9/10]),
				ms(w.coldCPU[len(w.coldCPU)/2]), ms(w.warmCPU[len(w.warmCPU)/2]),
				float64(w.rssKiB[len(w.rssKiB)/2])/1024, w.logBytes/w.events)
		}
		fmt.Println()
	}

	fmt.Println("## Stripped linux/arm64 bootstrap sizes")
	fmt.Println()
	fmt.Println("| function | bytes | MiB |")
	fmt.Println("| --- | --- | --- |")
	for _, fn := range []string{"ingest", "dispatch"} {
		if _, err := os.Stat(filepath.Join(root, "functions", fn, "main.go")); err != nil {
			continue
		}
		out := filepath.Join(tmp, fn+"-arm64")
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", out, "./functions/"+fn)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", fn, err, b)
		}
		st, err := os.Stat(out)
		if err != nil {
			return err
		}
		fmt.Printf("| %s | %d | %.1f |\n", fn, st.Size(), float64(st.Size())/(1<<20))
	}
	return nil
}

// process is what one process measured.
type process struct {
	cold     time.Duration   // exec → first invocation answered
	stages   stages          // where cold went (the Go bootstrap's log says the handler's part)
	warm     []time.Duration // each later invocation, sent → answered
	coldCPU  time.Duration   // CPU run time up to the first answer
	warmCPU  time.Duration   // CPU run time per warm invocation
	rssKiB   int64           // peak resident set (getrusage ru_maxrss)
	logBytes int             // stdout + stderr over the process's life
}

// warmStats gathers the warm figures of every measured process.
type warmStats struct {
	warm             []time.Duration
	coldCPU, warmCPU []time.Duration
	rssKiB           []int64
	logBytes, events int
}

func (w *warmStats) add(p process) {
	w.warm = append(w.warm, p.warm...)
	w.rssKiB = append(w.rssKiB, p.rssKiB)
	w.coldCPU = append(w.coldCPU, p.coldCPU)
	w.warmCPU = append(w.warmCPU, p.warmCPU)
	w.logBytes += p.logBytes
	w.events += 1 + len(p.warm)
}

// coldStart execs one process, times exec → first invocation answered, then
// times warm more invocations of the same event.
func coldStart(ctx context.Context, argv, env []string, event []byte, warm int, logsStages bool) (process, error) {
	var r process
	rt, err := lambdaruntime.Start()
	if err != nil {
		return r, err
	}
	defer rt.Close()
	start := time.Now()
	p, err := rt.Exec(argv[0], env, argv[1:]...)
	if err != nil {
		return r, err
	}
	stopped := false
	defer func() {
		if !stopped {
			p.Stop()
		}
	}()
	ictx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for i := 0; i <= warm; i++ {
		sent := time.Now()
		res, err := rt.Invoke(ictx, event)
		if err != nil {
			return r, fmt.Errorf("%w (stderr: %s)", err, p.Stderr())
		}
		if res.Err != nil {
			return r, fmt.Errorf("function error: %v", res.Err)
		}
		if i == 0 {
			r.cold = res.Received.Sub(start)
			r.coldCPU = cpuTime(p.Cmd.Process.Pid)
			r.stages = stages{init: res.Delivered.Sub(start), handled: res.Received.Sub(res.Delivered)}
		} else {
			r.warm = append(r.warm, res.Received.Sub(sent))
		}
	}
	if warm > 0 {
		r.warmCPU = (cpuTime(p.Cmd.Process.Pid) - r.coldCPU) / time.Duration(warm)
	}
	p.Stop()
	stopped = true
	// Read once the process is gone: its output is then all copied (the
	// first event's "enqueued" line may still be in the pipe when it answers).
	if logsStages {
		var err error
		if r.stages.offsets, err = enqueuedOffsets(p.Stdout()); err != nil {
			return r, err
		}
	}
	if ru, ok := p.Cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssKiB = ru.Maxrss // KiB on Linux
	}
	r.logBytes = len(p.Stdout()) + len(p.Stderr())
	return r, nil
}

// cpuTime is how long the process's threads have run on a CPU: the sum of
// the first field of /proc/PID/task/*/schedstat (nanoseconds). It is 0
// where /proc does not say.
func cpuTime(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread exited meanwhile
		}
		var run int64
		if _, err := fmt.Sscan(string(b), &run); err == nil {
			total += time.Duration(run)
		}
	}
	return total
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func trim(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
