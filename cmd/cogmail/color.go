package main

import (
	"io"
	"os"
)

// ANSI colours, used only when stdout is a terminal and NO_COLOR is unset
// (https://no-color.org).
const (
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	reset  = "\x1b[0m"
)

// paint colours s when the command's stdout takes colour.
func (e *env) paint(color, s string) string {
	if !e.color {
		return s
	}
	return color + s + reset
}

// wantColor reports whether w is a terminal and NO_COLOR is unset or empty.
func wantColor(w io.Writer, getenv func(string) string) bool {
	f, ok := w.(*os.File)
	if !ok || getenv("NO_COLOR") != "" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
