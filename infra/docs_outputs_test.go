package infra

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Where the docs name a stack output: the runbook's `$(out NAME)`, a
// describe-stacks query's OutputKey=='NAME', and a CamelCase name in
// backquotes on a line that speaks of outputs ("the output `QueueUrl`",
// "outputs `A`, `B`", "its `ProvidersParameterName` output").
var (
	outCall      = regexp.MustCompile(`\$\(out ([A-Za-z0-9]+)\)`)
	outputKey    = regexp.MustCompile(`OutputKey==?'([A-Za-z0-9]+)'`)
	backquoted   = regexp.MustCompile("`([A-Z][a-z]+[A-Z][A-Za-z0-9]*)`")
	outputs      = regexp.MustCompile(`(?i)\boutputs?\b`)
	helpOutput   = regexp.MustCompile(`\b([A-Z][a-z]+[A-Z][A-Za-z0-9]*) output\b`)
	outputsNamed = regexp.MustCompile(`\boutputs? ([A-Z][a-z]+[A-Z][A-Za-z0-9]*)\b`)
)

// TestDocsNameOnlyRealOutputs: every stack output the README, docs/ and
// the command's help name is one infra/template.yaml declares, so a
// renamed output cannot leave the docs behind (ProvidersParameter was
// really ProvidersParameterName).
func TestDocsNameOnlyRealOutputs(t *testing.T) {
	s := loadStack(t, templatePath)
	files, _ := filepath.Glob("../docs/*.md")
	help, _ := filepath.Glob("../cmd/cogmail/*.go")
	files = append(append(files, "../README.md"), help...)
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			var names []string
			for _, re := range []*regexp.Regexp{outCall, outputKey, helpOutput, outputsNamed} {
				for _, m := range re.FindAllStringSubmatch(line, -1) {
					names = append(names, m[1])
				}
			}
			if outputs.MatchString(line) {
				for _, m := range backquoted.FindAllStringSubmatch(line, -1) {
					names = append(names, m[1])
				}
			}
			for _, n := range names {
				if _, param := s.tpl.Parameters[n]; param {
					continue // a template parameter, named beside the outputs
				}
				checked++
				if _, ok := s.tpl.Outputs[n]; !ok {
					t.Errorf("%s:%d names the output %q, which infra/template.yaml does not declare (outputs: %s)", f, i+1, n, strings.Join(slices.Sorted(maps.Keys(s.tpl.Outputs)), ", "))
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d output names found in the docs: is the scan still finding them?", checked)
	}
}
