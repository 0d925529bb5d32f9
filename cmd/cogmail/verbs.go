package main

import (
	"context"
	"fmt"
	"io"
)

// verb is a command's subcommand (dlq stats, providers set, config check):
// one table per command, read by runVerb and by "did you mean".
type verb struct {
	name string
	run  func(ctx context.Context, e *env, args []string) int
}

// verbTable is what dispatching on args[0] needs: the verbs, the usage, and
// how an unknown one is told ("cogmail: unknown command", "cogmail dlq:
// unknown subcommand"). The top level (main.go) and every command with
// subcommands go through it.
type verbTable struct {
	cmd   string // "cogmail dlq"
	noun  string // "subcommand"
	hint  string // "(cogmail dlq --help lists them)"
	verbs []verb
	usage func(io.Writer)
}

// runVerb runs the verb args[0] names. No verb prints the usage on stderr
// (exit 2); help prints it on stdout (exit 0); an unknown verb is named,
// with the nearest known one.
func runVerb(ctx context.Context, e *env, cmd string, verbs []verb, usage func(io.Writer), args []string) int {
	return verbTable{cmd: cmd, noun: "subcommand", hint: "(" + cmd + " --help lists them)", verbs: verbs, usage: usage}.run(ctx, e, args)
}

func (t verbTable) run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		t.usage(e.stderr)
		return exitUsage
	}
	names := make([]string, 0, len(t.verbs))
	for _, v := range t.verbs {
		if v.name == args[0] {
			return v.run(ctx, e, args[1:])
		}
		names = append(names, v.name)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		t.usage(e.stdout)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "%s: unknown %s %q%s\n%s\n", t.cmd, t.noun, args[0], didYouMean(args[0], names, ""), t.hint)
	return exitUsage
}
