// Command cogmail is what users and ops run: the local stack, Cognito-shaped
// events, DLQ inspection and replay, template previews, configuration checks
// and wiring the trigger to a user pool. `cogmail help` lists the commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes scripts can rely on.
const (
	exitOK      = 0
	exitFailed  = 1 // the command ran and what it checked or did failed
	exitUsage   = 2 // bad flags or arguments
	exitAborted = 3 // the user declined a confirmation, or was interrupted
)

// command is one subcommand, with the line `cogmail help` shows for it;
// each lives in its own file. run dispatches through the same verbTable as
// the subcommands of dlq, providers, config, queue, templates and
// suppressions.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) int
}

// env is what a command may touch: streams and the environment, injected so
// tests can run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	color          bool // stdout is a terminal and NO_COLOR is unset
}

func commands() []command {
	return []command{
		localCommand(),
		eventCommand(),
		invokeCommand(),
		templatesCommand(),
		attachCommand(),
		providersCommand(),
		configCommand(),
		dlqCommand(),
		queueCommand(),
		suppressionsCommand(),
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, color: wantColor(os.Stdout, os.Getenv)}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) > 1 && args[0] == "help" {
		args = []string{args[1], "--help"} // cogmail help dlq
	}
	cmds := commands()
	verbs := make([]verb, len(cmds))
	for i, c := range cmds {
		verbs[i] = verb{name: c.name, run: c.run}
	}
	return verbTable{cmd: "cogmail", noun: "command", hint: "(cogmail help lists the commands)", verbs: verbs, usage: usage}.run(ctx, e, args)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "cogmail: the email gateway for the Cognito Custom Email Sender trigger")
	fmt.Fprintln(w, "\nusage: cogmail COMMAND [flags]   (cogmail COMMAND --help for its flags and examples)")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
}
