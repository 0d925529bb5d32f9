package main

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// docs/cost.md carries the figures it was computed from and the report,
// between these markers, so that a test can recompute the report from the
// figures and fail when the model, the prices or the template moved on.
const (
	markMeasured = "<!-- cost:measured (written by go run ./bench/cost -write docs/cost.md) -->"
	markReport   = "<!-- cost:report -->"
	markEnd      = "<!-- cost:end -->"
	dispatchLine = "Dispatch CPU per message: "
)

// generated is the text between markMeasured and markEnd.
func generated(coldOut []byte, dcpu time.Duration, report []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n```text\n%s\n```\n\n%s%s\n\n%s\n\n%s", markMeasured, bytes.TrimSpace(coldOut), dispatchLine, dcpu, markReport, report)
	return b.String()
}

// splice replaces doc's generated part.
func splice(doc []byte, gen string) ([]byte, error) {
	s := string(doc)
	i, j := strings.Index(s, markMeasured), strings.Index(s, markEnd)
	if i < 0 || j < i {
		return nil, fmt.Errorf("the document lacks the %q ... %q markers", markMeasured, markEnd)
	}
	return []byte(s[:i] + gen + s[j:]), nil
}

// parseDoc reads the measured figures and the report back from a document.
func parseDoc(doc []byte) (coldOut []byte, dcpu time.Duration, report string, err error) {
	s := string(doc)
	i, r, j := strings.Index(s, markMeasured), strings.Index(s, markReport), strings.Index(s, markEnd)
	if i < 0 || r < i || j < r {
		return nil, 0, "", fmt.Errorf("the document lacks the cost markers in order")
	}
	measured := s[i+len(markMeasured) : r]
	open, close := strings.Index(measured, "```text\n"), strings.LastIndex(measured, "```")
	if open < 0 || close <= open {
		return nil, 0, "", fmt.Errorf("no ```text block of bench/coldstart output")
	}
	coldOut = []byte(measured[open+len("```text\n") : close])
	_, rest, ok := strings.Cut(measured[close:], dispatchLine)
	if !ok {
		return nil, 0, "", fmt.Errorf("no %q line", dispatchLine)
	}
	line, _, _ := strings.Cut(rest, "\n")
	if dcpu, err = time.ParseDuration(strings.TrimSpace(line)); err != nil {
		return nil, 0, "", fmt.Errorf("%s%s: %w", dispatchLine, line, err)
	}
	return coldOut, dcpu, s[r+len(markReport) : j], nil
}
