package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
)

func dlqPurge(ctx context.Context, e *env, args []string) int {
	f := newDLQFlags(e, "purge", "purge [--queue URL] [--yes]",
		"Deletes every message in the DLQ (SQS PurgeQueue: it can take up to 60 s, and SQS allows one\npurge per queue every 60 s). Asks for confirmation unless --yes.\n",
		"\nExamples:\n  cogmail dlq purge\n  cogmail dlq purge --queue $COGMAIL_DLQ_URL --yes\n")
	yes := f.fs.Bool("yes", false, "do not ask for confirmation")
	if _, code, ok := f.parse(args, 0); !ok {
		return code
	}
	q, err := f.open(ctx)
	if err != nil {
		return f.fail(err)
	}
	c, err := q.Counts(ctx)
	if err != nil {
		return f.fail(err)
	}
	if !*yes && !dlqConfirm(e, fmt.Sprintf("Delete all %s (and %d in flight) in %s? This cannot be undone. Type yes to purge: ",
		plural(c.Visible+c.Delayed, "message"), c.InFlight, q.URL())) {
		fmt.Fprintf(e.stderr, "%s: not confirmed; nothing deleted\n", f.name)
		return exitAborted
	}
	if err := q.Purge(ctx); err != nil {
		return f.fail(err)
	}
	fmt.Fprintf(e.stdout, "Purged %s (about %d messages; SQS may take up to 60 s to finish).\n", q.URL(), c.Visible+c.Delayed+c.InFlight)
	return exitOK
}

// dlqConfirm asks on stderr and reads one line: only "yes" confirms.
func dlqConfirm(e *env, prompt string) bool {
	fmt.Fprint(e.stderr, prompt)
	if e.stdin == nil {
		fmt.Fprintln(e.stderr)
		return false
	}
	line, _ := bufio.NewReader(e.stdin).ReadString('\n')
	if strings.EqualFold(strings.TrimSpace(line), "yes") {
		return true
	}
	fmt.Fprintln(e.stderr)
	return false
}
