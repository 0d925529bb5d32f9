package main

import (
	"context"
	"fmt"
)

func dlqPurge(ctx context.Context, e *env, args []string) int {
	f := newDLQFlags(e, "purge", "purge [--queue URL] [--yes]",
		"Deletes every message in the DLQ (SQS PurgeQueue: it can take up to 60 s, and SQS allows one\npurge per queue every 60 s). Asks for confirmation (y or yes) unless --yes; an empty DLQ asks nothing.\n",
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
	if c.Visible+c.Delayed+c.InFlight == 0 {
		fmt.Fprintf(e.stdout, "%s is empty: nothing to purge.\n", q.URL())
		return exitOK
	}
	if !*yes && !confirm(e.stdin, e.stderr, fmt.Sprintf("Delete all %s (and %d in flight) in %s? This cannot be undone. [y/N] ",
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
