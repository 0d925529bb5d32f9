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
// stops at its configuration check, after every package's init) and prints
// the sum of the packages' init clocks, and the packages that cost most.
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
	var sums []float64
	per := map[string][]float64{}
	for i := 0; i < n+1; i++ {
		cmd := exec.Command(bin)
		cmd.Env = []string{"GODEBUG=inittrace=1", "PATH=" + os.Getenv("PATH")}
		out, _ := cmd.CombinedOutput() // it exits 1: no configuration
		sum, pkgs := 0.0, 0
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			// init PKG @T ms, C ms clock, B bytes, A allocs
			if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
				continue
			}
			c, err := strconv.ParseFloat(f[4], 64)
			if err != nil {
				continue
			}
			sum += c
			pkgs++
			if i > 0 {
				per[f[1]] = append(per[f[1]], c)
			}
		}
		if pkgs == 0 {
			return fmt.Errorf("no inittrace lines from %s:\n%s", filepath.Base(bin), out)
		}
		if i > 0 { // the first run warms the page cache
			sums = append(sums, sum)
		}
	}
	slices.Sort(sums)
	fmt.Printf("## Package init of the ingest bootstrap (GODEBUG=inittrace=1, %d runs)\n\n", n)
	fmt.Printf("Sum of the packages' init clocks: median %.2f ms, min %.2f ms, max %.2f ms (goal: <= 10 ms)\n\n", sums[len(sums)/2], sums[0], sums[len(sums)-1])
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
