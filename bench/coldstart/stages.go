package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/internal/testkit/lambdaruntime"
)

// stages is where one cold start of the Go bootstrap went: from exec to its
// first GET /invocation/next (process start, package init, config and
// Build), then the first event from delivery to answer, split by the stage
// offsets its "enqueued" log line carries.
type stages struct {
	init, handled time.Duration
	offsets       map[string]float64 // decryptedMs, renderedMs, sealedMs, enqueuedMs: since the event arrived
}

// stageKeys are the offsets of the ingest handler's "enqueued" line, in order.
var stageKeys = []struct{ key, name string }{
	{"decryptedMs", "decrypt the code (KMS Decrypt through the Encryption SDK)"},
	{"renderedMs", "recipient and render (first use of the template inlines its CSS)"},
	{"sealedMs", "seal (the data key was prefetched during init)"},
	{"enqueuedMs", "enqueue (SQS SendMessage)"},
}

// enqueuedOffsets reads the stage offsets from the first "enqueued" line of
// the bootstrap's JSON log.
func enqueuedOffsets(stdout string) (map[string]float64, error) {
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil || (line["msg"] != "enqueued" && line["message"] != "enqueued") {
			continue
		}
		out := map[string]float64{}
		for _, k := range stageKeys {
			if v, ok := line[k.key].(float64); ok {
				out[k.key] = v
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("no enqueued line in the bootstrap's output")
}

// printStages prints the medians of the Go bootstrap's cold-start stages.
func printStages(runs []stages) {
	if len(runs) == 0 {
		return
	}
	median := func(f func(stages) float64) float64 {
		v := make([]float64, 0, len(runs))
		for _, r := range runs {
			v = append(v, f(r))
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	msOf := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Println("## Where the Go bootstrap's cold start goes (medians)")
	fmt.Println()
	fmt.Println("| stage | ms |")
	fmt.Println("| --- | --- |")
	fmt.Printf("| exec to the first GET /invocation/next: process start, package init, config, Build | %.1f |\n", median(func(s stages) float64 { return msOf(s.init) }))
	prev := "0"
	for _, k := range stageKeys {
		key, from := k.key, prev
		fmt.Printf("| %s | %.1f |\n", k.name, median(func(s stages) float64 {
			return s.offsets[key] - s.offsets[from]
		}))
		prev = key
	}
	fmt.Printf("| first event, delivered to answered (the stages above, plus logging and the response) | %.1f |\n\n", median(func(s stages) float64 { return msOf(s.handled) }))
}

// initTrace runs the ingest bootstrap n times under GODEBUG=inittrace=1 (it
// stops at its configuration check, right after every package's init) and
// prints three figures that are easily confused:
//
//   - the end of package init: the latest "@T ms" start plus its clock, the
//     time from runtime.main's start to the last init's end, i.e. to main
//     (the runtime's own set-up before runtime.main is well under 1 ms): this
//     is the package-init figure, the time before main;
//   - the sum of the packages' init clocks: only the time inside init
//     functions, leaving out what the runtime does between them (page faults
//     of a 28 MB binary, the scheduler, background work): smaller;
//   - exec to exit, timed from outside: the above plus exec, loading, the
//     configuration check and exit, an upper bound.
//
// It also lists the packages whose init costs most.
func initTrace(n int) error {
	root := fixtures.Root()
	tmp, err := os.MkdirTemp("", "cogmail-inittrace-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, err := lambdaruntime.Build(context.Background(), root, "./functions/ingest", tmp)
	if err != nil {
		return err
	}
	var sums, ends, walls []float64
	per := map[string][]float64{}
	for i := 0; i < n+1; i++ {
		cmd := exec.Command(bin)
		cmd.Env = []string{"GODEBUG=inittrace=1", "PATH=" + os.Getenv("PATH")}
		start := time.Now()
		out, _ := cmd.CombinedOutput() // it exits 1: no configuration
		wall := float64(time.Since(start).Microseconds()) / 1000
		sum, end, pkgs := 0.0, 0.0, 0
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			// init PKG @T ms, C ms clock, B bytes, A allocs
			if len(f) < 7 || f[0] != "init" || f[6] != "clock," || !strings.HasPrefix(f[2], "@") {
				continue
			}
			at, err1 := strconv.ParseFloat(f[2][1:], 64)
			c, err2 := strconv.ParseFloat(f[4], 64)
			if err1 != nil || err2 != nil {
				continue
			}
			sum += c
			end = max(end, at+c)
			pkgs++
			if i > 0 {
				per[f[1]] = append(per[f[1]], c)
			}
		}
		if pkgs == 0 {
			return fmt.Errorf("no inittrace lines from %s:\n%s", filepath.Base(bin), out)
		}
		if i > 0 { // the first run warms the page cache
			sums, ends, walls = append(sums, sum), append(ends, end), append(walls, wall)
		}
	}
	fmt.Printf("## Package init of the ingest bootstrap (GODEBUG=inittrace=1, %d runs, load average %s)\n\n", n, loadAverage())
	fmt.Println("| figure | what it counts | median | min | max |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	row := func(name, what string, v []float64) {
		slices.Sort(v)
		fmt.Printf("| %s | %s | %.2f ms | %.2f ms | %.2f ms |\n", name, what, v[len(v)/2], v[0], v[len(v)-1])
	}
	row("**package init: time before main**", "runtime.main's start to the end of the last init (max of @T + clock)", ends)
	row("sum of init clocks", "time inside init functions only", sums)
	row("exec to exit", "from outside: exec, loading, init, the configuration check, exit", walls)
	fmt.Println()
	type cost struct {
		pkg string
		ms  float64
	}
	var costs []cost
	for p, v := range per {
		slices.Sort(v)
		costs = append(costs, cost{p, v[len(v)/2]})
	}
	slices.SortFunc(costs, func(a, b cost) int {
		switch {
		case a.ms > b.ms:
			return -1
		case a.ms < b.ms:
			return 1
		}
		return strings.Compare(a.pkg, b.pkg)
	})
	fmt.Println("| package | median init clock |")
	fmt.Println("| --- | --- |")
	for _, c := range costs[:min(10, len(costs))] {
		fmt.Printf("| %s | %.2f ms |\n", c.pkg, c.ms)
	}
	fmt.Println()
	return nil
}
