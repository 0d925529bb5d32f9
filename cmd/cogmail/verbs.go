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

// runVerb runs the verb args[0] names. No verb prints the usage on stderr
// (exit 2); help prints it on stdout (exit 0); an unknown verb is named,
// with the nearest known one.
func runVerb(ctx context.Context, e *env, cmd string, verbs []verb, usage func(io.Writer), args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	names := make([]string, 0, len(verbs))
	for _, v := range verbs {
		if v.name == args[0] {
			return v.run(ctx, e, args[1:])
		}
		names = append(names, v.name)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(e.stdout)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "%s: unknown subcommand %q%s\n(%s --help lists them)\n", cmd, args[0], didYouMean(args[0], names, ""), cmd)
	return exitUsage
}
