// Command cost works out the monthly AWS cost of cogmail at several volumes
// from measured figures: the cold-start harness (bench/coldstart: each
// function's CPU per cold and warm event, peak memory, log bytes) and
// dispatch's CPU per message (pkg/dispatch's benchmark under getrusage),
// with the memory, batching and resources read from infra/template.yaml,
// priced at AWS list prices. The same estimate is made with the reference
// Node handler as the ingest function. docs/cost.md explains every line.
//
//	go run ./bench/cost                                       # measures (a few minutes)
//	go run ./bench/cost -coldstart FILE -dispatch-cpu 180us   # prices saved figures
//	go run ./bench/cost -write docs/cost.md                   # measures and updates the document
//	go run ./bench/cost -reprice -write docs/cost.md          # re-prices the document's own figures
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cogmail/cogmail/internal/testkit/fixtures"
)

func main() {
	cold := flag.String("coldstart", "", "saved `go run ./bench/coldstart` output (default: run it)")
	dcpu := flag.Duration("dispatch-cpu", 0, "dispatch's CPU per message as measured before (default: measure it)")
	runs := flag.Int("runs", 5, "cold starts per implementation when running bench/coldstart")
	volumes := flag.String("volumes", docVolumes, "emails per month, comma-separated")
	write := flag.String("write", "", "replace the generated part of this document (docs/cost.md) instead of printing")
	reprice := flag.Bool("reprice", false, "with -write: take the measured figures from the document itself (after a model, price or template change)")
	flag.Parse()
	if *reprice && *write == "" {
		fmt.Fprintln(os.Stderr, "cost: -reprice needs -write FILE")
		os.Exit(2)
	}
	if err := main1(*cold, *dcpu, *runs, *volumes, *write, *reprice); err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
}

// main1 gathers the measured figures (saved, from the document, or
// measured now) and prints or writes the report.
func main1(coldFile string, dcpu time.Duration, runs int, volumes, write string, reprice bool) error {
	var coldOut []byte
	var err error
	switch {
	case reprice:
		doc, err := os.ReadFile(write)
		if err != nil {
			return err
		}
		if coldOut, dcpu, _, err = parseDoc(doc); err != nil {
			return fmt.Errorf("%s: %w", write, err)
		}
	case coldFile != "":
		if coldOut, err = os.ReadFile(coldFile); err != nil {
			return err
		}
	}
	return run(coldOut, dcpu, runs, volumes, write, os.Stdout)
}

// docVolumes are the volumes docs/cost.md shows.
const docVolumes = "10000,1000000,10000000"

func volumeList(volumes string) ([]int, error) {
	var ns []int
	for _, v := range strings.Split(volumes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-volumes: %q is not a positive count", v)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

func templateStack(root string) (Stack, error) {
	tpl, err := os.ReadFile(filepath.Join(root, "infra", "template.yaml"))
	if err != nil {
		return Stack{}, err
	}
	return readStack(tpl)
}

// run measures what coldOut (bench/coldstart output) and dcpu (dispatch's
// CPU per message) do not give, and prints the report to w or writes it
// into the document write.
func run(coldOut []byte, dcpu time.Duration, runs int, volumes, write string, w io.Writer) error {
	root := fixtures.Root()
	ns, err := volumeList(volumes)
	if err != nil {
		return err
	}
	st, err := templateStack(root)
	if err != nil {
		return err
	}
	if dcpu <= 0 {
		tmp, err := os.MkdirTemp("", "cogmail-cost-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		fmt.Fprintf(os.Stderr, "cost: measuring dispatch's CPU per message (%s)\n", dispatchBench)
		if dcpu, err = dispatchCPU(root, tmp, 3000); err != nil {
			return err
		}
	}
	if coldOut == nil {
		args := []string{"run", "./bench/coldstart", "-runs", strconv.Itoa(runs), "-warm", "10"}
		fmt.Fprintf(os.Stderr, "cost: running go %s\n", strings.Join(args, " "))
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Stderr = root, os.Stderr
		if coldOut, err = cmd.Output(); err != nil {
			return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, coldOut)
		}
	}
	ingest, node, err := coldStart(bytes.NewReader(coldOut))
	if err != nil {
		return err
	}
	m := Measured{Ingest: ingest, Node: node, DispatchCPU: dcpu}
	if write == "" {
		report(w, ns, m, st, DefaultAssumptions, ListPrices)
		return nil
	}
	var rep bytes.Buffer
	report(&rep, ns, m, st, DefaultAssumptions, ListPrices)
	doc, err := os.ReadFile(write)
	if err != nil {
		return err
	}
	out, err := splice(doc, generated(coldOut, dcpu, rep.Bytes()))
	if err != nil {
		return fmt.Errorf("%s: %w", write, err)
	}
	return os.WriteFile(write, out, 0o644)
}

func report(w io.Writer, ns []int, m Measured, st Stack, a Assumptions, p Prices) {
	fmt.Fprintf(w, "### Inputs\n\n")
	fmt.Fprintf(w, "| figure | value | source |\n| --- | --- | --- |\n")
	for _, f := range []Function{m.Ingest, m.Node} {
		fmt.Fprintf(w, "| %s: cold start (exec → first event) | %s | bench/coldstart |\n", f.Name, ms(f.Cold))
		fmt.Fprintf(w, "| %s: warm event | %s | bench/coldstart |\n", f.Name, ms(f.Warm))
		fmt.Fprintf(w, "| %s: CPU, start-up + first event | %s | bench/coldstart |\n", f.Name, ms(f.ColdCPU))
		fmt.Fprintf(w, "| %s: CPU per warm event | %s | bench/coldstart |\n", f.Name, ms(f.WarmCPU))
		fmt.Fprintf(w, "| %s: peak memory (VmHWM) | %.1f MiB | bench/coldstart |\n", f.Name, f.PeakMiB)
		fmt.Fprintf(w, "| %s: log bytes per event | %d | bench/coldstart |\n", f.Name, f.LogBytes)
	}
	fmt.Fprintf(w, "| dispatch: CPU per message | %s | pkg/dispatch %s under getrusage |\n", ms(m.DispatchCPU), dispatchBench)
	fmt.Fprintf(w, "| memory: ingest / dispatch | %d / %d MB | infra/template.yaml |\n", st.IngestMemoryMB, st.DispatchMemoryMB)
	fmt.Fprintf(w, "| batch size / window / max concurrency | %d / %s / %d | infra/template.yaml |\n", st.BatchSize, st.BatchingWindow, st.DispatchMaxConcurrency)
	fmt.Fprintf(w, "| KMS keys / secrets / alarms / dashboards | %d / %d / %d / %d | infra/template.yaml |\n\n", st.Keys, st.Secrets, st.Alarms, st.Dashboards)

	goInv := a.IngestInvocation(m.Ingest, st.IngestMemoryMB)
	nodeInv := a.IngestInvocation(m.Node, st.IngestMemoryMB)
	fmt.Fprintf(w, "Modelled billed duration per ingest event on arm64 at %d MB: Go %s warm, %s cold; Node %s warm, %s cold.\n\n",
		st.IngestMemoryMB, goInv.Warm, goInv.Cold, nodeInv.Warm, nodeInv.Cold)

	fmt.Fprintf(w, "### Assumptions\n\n")
	fmt.Fprintf(w, "arm64 core / this core: ×%.2f · one vCPU at %d MB · AWS call: %s · provider send: %s · idle environment kept: %s · "+
		"dispatch logs: %d B/message · platform log lines: %d B/invocation · idle polls: %.0f/min · EMF series: %d · "+
		"data key: %s or %d messages · X-Ray: %.0f/s + %.0f%%\n\n",
		a.ArchFactor, a.FullCoreMB, a.AWSCallRTT, a.ProviderLatency, a.IdleTimeout, a.DispatchLogBytes, a.PlatformLogBytes,
		a.IdleReceivesPerMin, a.MetricSeries, a.SealMaxAge, a.SealMaxUses, a.XRayReservoirPerSec, a.XRayRate*100)
	fmt.Fprintf(w, "Prices: %s, %s.\n\n", p.Region, p.Date)

	var goEst, nodeEst []Estimate
	for _, n := range ns {
		goEst = append(goEst, Cost(n, m.Ingest, m, st, a, p))
		nodeEst = append(nodeEst, Cost(n, m.Node, m, st, a, p))
	}
	fmt.Fprintf(w, "### Monthly cost (USD)\n\n")
	fmt.Fprintf(w, "| item |")
	for _, n := range ns {
		fmt.Fprintf(w, " %s emails |", count(float64(n)))
	}
	fmt.Fprintf(w, "\n| --- |%s\n", strings.Repeat(" ---: |", len(ns)))
	for i, l := range goEst[0].Lines {
		fmt.Fprintf(w, "| %s |", l.Item)
		for _, e := range goEst {
			fmt.Fprintf(w, " %s (%s %s) |", usd(e.Lines[i].USD), count(e.Lines[i].Quantity), e.Lines[i].Unit)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| **cogmail, without SES** |")
	for _, e := range goEst {
		fmt.Fprintf(w, " **%s** |", usd(e.Total(false)))
	}
	fmt.Fprintf(w, "\n| **cogmail, with SES sending** |")
	for _, e := range goEst {
		fmt.Fprintf(w, " **%s** |", usd(e.Total(true)))
	}
	fmt.Fprintf(w, "\n\n### Beside the reference Node handler as ingest\n\n")
	fmt.Fprintf(w, "| emails/month | ingest Lambda, Go | ingest Lambda, Node | total without SES, Go | total without SES, Node |\n| ---: | ---: | ---: | ---: | ---: |\n")
	for i, n := range ns {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", count(float64(n)),
			usd(lambdaIngest(goEst[i])), usd(lambdaIngest(nodeEst[i])), usd(goEst[i].Total(false)), usd(nodeEst[i].Total(false)))
	}
}

func lambdaIngest(e Estimate) float64 {
	t := 0.0
	for _, l := range e.Lines {
		if l.Item == itemIngestRequests || l.Item == itemIngestDuration {
			t += l.USD
		}
	}
	return t
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000) }

func usd(v float64) string {
	if v < 1000 {
		return fmt.Sprintf("$%.2f", v)
	}
	return "$" + count(v)
}

// count writes a number with thousands separators (one decimal below 10).
func count(v float64) string {
	if v < 10 && v != float64(int64(v)) {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
