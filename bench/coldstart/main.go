// Command coldstart measures, in one run on this machine, the cold start of
// the ingest bootstrap against the reference JavaScript handler (Node, the
// @aws-crypto/client-node pattern of the Cognito documentation) doing the
// same work: process exec to the first event handled (decrypt with the KMS
// keyring, enqueue to SQS), with KMS and SQS on loopback. Each process then
// handles -warm more events, which gives the warm duration, the process's own
// CPU, page faults and log bytes per warm event and its peak memory, the
// figures bench/cost prices. It also reports the stripped linux/arm64
// bootstrap size of each function.
//
// Every figure is read from the measured process itself (/proc/PID), never
// from this harness: the rusage of a child started by a Go parent carries the
// parent's own peak RSS, about 50 MiB here (see coldStart).
//
// -baseline REV adds the ingest bootstrap built from git revision REV, and
// -env 'KEY=VALUE ...' adds the bootstrap run with more environment variables,
// each interleaved with the others: an A/B of a change in one run.
//
//	go run ./bench/coldstart [-runs 15] [-warm 10] [-baseline REV] [-env KEY=VALUE]
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
	"strconv"
	"strings"
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
	baseline := flag.String("baseline", "", "also run the ingest bootstrap built from this git revision (an A/B in one interleaved run)")
	extraEnv := flag.String("env", "", "also run the ingest bootstrap with these space-separated KEY=VALUE pairs added to its environment")
	sizes := flag.Bool("sizes", true, "build the linux/arm64 bootstraps and report their sizes")
	flag.Parse()
	var err error
	if *inits > 0 {
		err = initTrace(*inits)
	} else {
		err = run(*runs, *warm, *traceDir, *baseline, *extraEnv, *sizes)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

// goName is the name of the Go ingest bootstrap's rows (bench/cost reads them).
const goName = "Go ingest bootstrap"

func run(runs, warm int, traceDir, baseline, extraEnv string, sizes bool) error {
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
	type impl struct {
		name   string
		cmd    []string
		env    []string
		stages bool // its log's "enqueued" line carries the stage offsets
	}
	impls := []impl{
		{goName, []string{bin}, goEnv, true},
		{"Node " + string(trim(nodeVersion)) + " reference handler", []string{nodeBin, filepath.Join(nodeDir, "bootstrap.js")}, nodeEnv, false},
	}
	if baseline != "" {
		old, err := buildAt(ctx, root, baseline, tmp)
		if err != nil {
			return err
		}
		impls = append(impls, impl{goName + " at " + baseline, []string{old}, goEnv, false})
	}
	if extraEnv != "" {
		kvs := strings.Fields(extraEnv)
		for _, kv := range kvs {
			if !strings.Contains(kv, "=") {
				return fmt.Errorf("-env %q: want KEY=VALUE, space-separated", extraEnv)
			}
		}
		impls = append(impls, impl{goName + " with " + extraEnv, []string{bin}, append(slices.Clone(goEnv), kvs...), false})
	}
	fmt.Printf("Load average at the start: %s\n\n", loadAverage())
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
	fmt.Printf("\nGo / Node median ratio: %.3f (goal: <= 0.08)\n", float64(medians[0])/float64(medians[1]))
	for j := 2; j < len(impls); j++ {
		fmt.Printf("%s / Node median ratio: %.3f\n", impls[j].name, float64(medians[j])/float64(medians[1]))
	}
	fmt.Println()
	printStages(goStages)

	if warm > 0 {
		fmt.Printf("## Warm invocations: %d per process after its cold start (medians over the processes)\n\n", warm)
		fmt.Println("Read from each process itself: CPU is its threads' run time (/proc/PID/task/*/schedstat), so unlike the")
		fmt.Println("wall times it leaves out the loopback endpoints and waiting for a busy machine's cores; page faults are")
		fmt.Println("its minor faults (/proc/PID/stat); peak memory is its VmHWM (/proc/PID/status) read after the last event,")
		fmt.Println("just before it is stopped. Log bytes are its stdout and stderr over its life, per event handled.")
		fmt.Println()
		fmt.Println("| implementation | warm median | warm p90 | cold CPU | warm CPU/event | peak memory (VmHWM) | log bytes/event | minor faults/warm event |")
		fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- |")
		var counts strings.Builder
		counts.WriteString("| implementation | write system calls/warm event | context switches/warm event |\n| --- | --- | --- |\n")
		// The per-round ratios, before the sort: the processes of one round
		// ran one after the other, under about the same load.
		paired := func(a, b int) float64 {
			var r []float64
			for k := range warmRuns[a].warmCPU {
				r = append(r, float64(warmRuns[a].warmCPU[k])/float64(warmRuns[b].warmCPU[k]))
			}
			slices.Sort(r)
			return r[len(r)/2]
		}
		pairedNode := make([]float64, len(impls))
		pairedGo := make([]float64, len(impls))
		for j := range impls {
			pairedNode[j], pairedGo[j] = paired(j, 1), paired(0, j)
		}
		cpu := make([]time.Duration, len(impls))
		for j, im := range impls {
			w := warmRuns[j]
			slices.Sort(w.warm)
			slices.Sort(w.hwmKiB)
			slices.Sort(w.coldCPU)
			slices.Sort(w.warmCPU)
			slices.Sort(w.faults)
			slices.Sort(w.writes)
			slices.Sort(w.switches)
			fmt.Fprintf(&counts, "| %s | %.1f | %.1f |\n", im.name, w.writes[len(w.writes)/2], w.switches[len(w.switches)/2])
			cpu[j] = w.warmCPU[len(w.warmCPU)/2]
			fmt.Printf("| %s | %s | %s | %s | %s | %.1f MiB | %d | %.0f |\n", im.name, ms(w.warm[len(w.warm)/2]), ms(w.warm[len(w.warm)*9/10]),
				ms(w.coldCPU[len(w.coldCPU)/2]), ms(cpu[j]),
				float64(w.hwmKiB[len(w.hwmKiB)/2])/1024, w.logBytes/w.events, w.faults[len(w.faults)/2])
		}
		fmt.Println()
		fmt.Println("The same processes' write system calls (/proc/PID/io syscw: sockets and logs) and their threads' context")
		fmt.Println("switches (/proc/PID/task/*/status), per warm event: counts that the machine's load does not move.")
		fmt.Println()
		fmt.Print(counts.String())
		fmt.Println()
		fmt.Println("Allocations per event are not readable from outside a process: `go test ./pkg/ingest -run '^$' -bench HandleRawAES -benchmem`")
		fmt.Println("gives the handler's in-process (without the AWS SDK's HTTP calls).")
		fmt.Println()
		fmt.Printf("**Go / Node warm CPU per event: %.3f** (the medians' ratio; target: <= 0.19; the Go peer cruxstack/cognito-custom-message-sender-go measured 0.20). Median of the per-round ratios: %.3f\n", float64(cpu[0])/float64(cpu[1]), pairedNode[0])
		for j := 2; j < len(impls); j++ {
			fmt.Printf("\n%s / Node warm CPU per event: %.3f (per round: %.3f)\n", impls[j].name, float64(cpu[j])/float64(cpu[1]), pairedNode[j])
			fmt.Printf("A/B: %s / %s warm CPU per event: %.3f (per round: %.3f)\n", goName, impls[j].name, float64(cpu[0])/float64(cpu[j]), pairedGo[j])
		}
		fmt.Println()
	}

	fmt.Printf("Load average at the end: %s\n\n", loadAverage())
	if !sizes {
		return nil
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
	hwmKiB   int64           // peak resident set (VmHWM) after the last invocation
	faults   float64         // minor page faults per warm invocation
	writes   float64         // write system calls per warm invocation (sockets and logs)
	switches float64         // context switches of its threads per warm invocation
	logBytes int             // stdout + stderr over the process's life
}

// warmStats gathers the warm figures of every measured process.
type warmStats struct {
	warm             []time.Duration
	coldCPU, warmCPU []time.Duration
	hwmKiB           []int64
	faults           []float64
	writes, switches []float64
	logBytes, events int
}

func (w *warmStats) add(p process) {
	w.warm = append(w.warm, p.warm...)
	w.hwmKiB = append(w.hwmKiB, p.hwmKiB)
	w.faults = append(w.faults, p.faults)
	w.writes = append(w.writes, p.writes)
	w.switches = append(w.switches, p.switches)
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
	pid := p.Cmd.Process.Pid
	var coldFaults, coldWrites, coldSwitches int64
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
			r.coldCPU = cpuTime(pid)
			coldFaults, coldWrites, coldSwitches = minorFaults(pid), writeCalls(pid), contextSwitches(pid)
			r.stages = stages{init: res.Delivered.Sub(start), handled: res.Received.Sub(res.Delivered)}
		} else {
			r.warm = append(r.warm, res.Received.Sub(sent))
		}
	}
	if warm > 0 {
		r.warmCPU = (cpuTime(pid) - r.coldCPU) / time.Duration(warm)
		r.faults = float64(minorFaults(pid)-coldFaults) / float64(warm)
		r.writes = float64(writeCalls(pid)-coldWrites) / float64(warm)
		r.switches = float64(contextSwitches(pid)-coldSwitches) / float64(warm)
	}
	// The peak is read from the process before it is stopped: once it is
	// reaped only its rusage is left, whose ru_maxrss starts from the memory
	// it had at exec, and os/exec starts a child with CLONE_VM|CLONE_VFORK,
	// so that is this Go harness's own peak RSS, about 50 MiB.
	r.hwmKiB = statusKiB(pid, "VmHWM")
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

// minorFaults is the process's minor page faults so far (the 10th field of
// /proc/PID/stat), 0 where /proc does not say.
func minorFaults(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 8 {
		return 0
	}
	n, _ := strconv.ParseInt(f[7], 10, 64) // state is f[0], field 3; minflt is field 10
	return n
}

// writeCalls is the process's write system calls so far (syscw in
// /proc/PID/io), 0 where /proc does not say.
func writeCalls(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// contextSwitches is the sum of the voluntary and involuntary context
// switches of the process's threads so far.
func contextSwitches(pid int) int64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread exited meanwhile
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				total += n
			}
		}
	}
	return total
}

// statusKiB reads a "Key:   N kB" line of /proc/PID/status, 0 where it is missing.
func statusKiB(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// loadAverage is the machine's 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

// buildAt builds the ingest bootstrap of git revision rev (a detached
// worktree of the repository under dir, removed afterwards).
func buildAt(ctx context.Context, root, rev, dir string) (string, error) {
	src := filepath.Join(dir, "src-"+strings.NewReplacer("/", "_", ":", "_").Replace(rev))
	if out, err := exec.CommandContext(ctx, "git", "-C", root, "worktree", "add", "--detach", src, rev).CombinedOutput(); err != nil {
		return "", fmt.Errorf("git worktree add %s: %v\n%s", rev, err, out)
	}
	defer exec.Command("git", "-C", root, "worktree", "remove", "--force", src).Run()
	out := filepath.Join(dir, "baseline")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	return lambdaruntime.Build(ctx, src, "./functions/ingest", out)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func trim(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
