package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// confirm is every command's confirmation, one rule for all: the question
// ends in [y/N], y or yes (any case) agrees, anything else or the end of
// input (a script without --yes) declines. Commands ask nothing when there
// is nothing to change. The question goes to out: where the plan it is
// about was printed.
func confirm(in io.Reader, out io.Writer, prompt string) bool {
	fmt.Fprint(out, prompt)
	if in == nil {
		return false
	}
	line, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	fmt.Fprintln(out)
	return false
}
