package main

// Small text helpers every command's output uses.

import (
	"strconv"
	"strings"
)

// firstNonEmpty is the first of v that is not "" (a flag, then a variable,
// then a default).
func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// plural is "1 message", "2 messages".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// listOrNone is "a, b" or "none".
func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// joinLines puts a multi-line error on one line.
func joinLines(s string) string { return strings.ReplaceAll(s, "\n", "; ") }
