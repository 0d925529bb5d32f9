package main

// Table cells every listing shares (dlq, queue, local): text made safe and
// short, ages in two units, keys by count.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// dashIfEmpty is s, or "-" for nothing.
func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cell fits text into a table cell: no control characters, at most n runes.
func cell(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return dashIfEmpty(s)
}

// shortAge prints a duration in its two largest units: 42s, 17m, 3h05m, 2d04h.
func shortAge(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// byCount orders keys by count, largest first, then by name.
func byCount(m map[string]int) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	return keys
}
