package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cogmail/cogmail/infra"
)

var (
	coldRow = regexp.MustCompile(`^\| (Go ingest bootstrap|Node [^|]* reference handler) \| ([\d.]+) ms \|`)
	warmRow = regexp.MustCompile(`^\| (Go ingest bootstrap|Node [^|]* reference handler) \| ([\d.]+) ms \| [\d.]+ ms \| ([\d.]+) ms \| ([\d.]+) ms \| ([\d.]+) MiB \| (\d+) \| [\d.]+ \|$`)
)

// coldStart reads `go run ./bench/coldstart` output: the cold-start table's
// medians and the warm table's medians, CPU, peak memory (the process's
// VmHWM) and log bytes per event.
func coldStart(r io.Reader) (ingest, node Function, err error) {
	fs := map[bool]*Function{true: &ingest, false: &node}
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if g := warmRow.FindStringSubmatch(line); g != nil {
			f := fs[strings.HasPrefix(g[1], "Go")]
			f.Warm = millis(g[2])
			f.ColdCPU = millis(g[3])
			f.WarmCPU = millis(g[4])
			f.PeakMiB, _ = strconv.ParseFloat(g[5], 64)
			f.LogBytes, _ = strconv.Atoi(g[6])
			seen["warm "+g[1][:2]] = true
		} else if g := coldRow.FindStringSubmatch(line); g != nil {
			f := fs[strings.HasPrefix(g[1], "Go")]
			f.Name = g[1]
			f.Cold = millis(g[2])
			seen["cold "+g[1][:2]] = true
		}
	}
	if err := sc.Err(); err != nil {
		return ingest, node, err
	}
	for _, k := range []string{"cold Go", "cold No", "warm Go", "warm No"} {
		if !seen[k] {
			return ingest, node, fmt.Errorf("coldstart output lacks the %s row (run it with -warm > 0)", k)
		}
	}
	return ingest, node, nil
}

func millis(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Millisecond))
}

// readStack reads what the cost depends on from the SAM template.
func readStack(src []byte) (Stack, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return Stack{}, err
	}
	root := doc.Content[0]
	var errs []string
	num := func(path ...string) int {
		n := infra.Lookup(root, path...)
		if n == nil {
			errs = append(errs, strings.Join(path, "."))
			return 0
		}
		if n.Tag == "!Ref" { // a Number parameter: its default
			n = infra.Lookup(root, "Parameters", n.Value, "Default")
		}
		v, err := strconv.Atoi(n.Value)
		if err != nil {
			errs = append(errs, strings.Join(path, ".")+": "+err.Error())
		}
		return v
	}
	st := Stack{
		IngestMemoryMB:         num("Resources", "IngestFunction", "Properties", "MemorySize"),
		DispatchMemoryMB:       num("Resources", "DispatchFunction", "Properties", "MemorySize"),
		BatchSize:              num("Resources", "DispatchEventSource", "Properties", "BatchSize"),
		BatchingWindow:         time.Duration(num("Resources", "DispatchEventSource", "Properties", "MaximumBatchingWindowInSeconds")) * time.Second,
		DispatchMaxConcurrency: num("Resources", "DispatchEventSource", "Properties", "ScalingConfig", "MaximumConcurrency"),
	}
	if len(errs) > 0 {
		return st, fmt.Errorf("template: missing or not a number: %s", strings.Join(errs, ", "))
	}
	res := infra.Lookup(root, "Resources")
	for i := 0; res != nil && i+1 < len(res.Content); i += 2 {
		switch t := infra.Lookup(res.Content[i+1], "Type"); {
		case t == nil:
		case t.Value == "AWS::KMS::Key":
			st.Keys++
		case t.Value == "AWS::SecretsManager::Secret":
			st.Secrets++
		case t.Value == "AWS::CloudWatch::Alarm":
			st.Alarms++
		case t.Value == "AWS::CloudWatch::Dashboard":
			st.Dashboards++
		}
	}
	return st, nil
}
