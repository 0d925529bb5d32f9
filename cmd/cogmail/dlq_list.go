package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/cogmail/cogmail/internal/ops/dlq"
)

func dlqList(ctx context.Context, e *env, args []string) int {
	f := newDLQFlags(e, "list", "list [--queue URL] [filters] [--limit N] [--json]",
		"Lists the DLQ's visible messages, oldest first: ids, trigger, pool, a hash of the user name, age,\nexpiry, reason, attempts and the last error. Every message is read, then the filters apply.\n",
		"\nExamples:\n  cogmail dlq list\n  cogmail dlq list --trigger ForgotPassword --newer-than 1h\n  cogmail dlq list --reason permanent --limit 20\n  cogmail dlq list --json | jq -r '.[] | [.id, .reason] | @tsv'\n")
	f.addFilters("show at most N messages, the oldest (0: all)")
	f.addJSON("every field of the messages")
	if _, code, ok := f.parse(args, 0); !ok {
		return code
	}
	flt, ok := f.filter()
	if !ok {
		return exitUsage
	}
	q, err := f.open(ctx)
	if err != nil {
		return f.fail(err)
	}
	ms, err := q.List(ctx, flt)
	if err != nil {
		return f.fail(err)
	}
	if *f.json {
		if ms == nil {
			ms = []dlq.Message{}
		}
		if err := writeJSON(e.stdout, ms); err != nil {
			return f.fail(err)
		}
		return exitOK
	}
	printDLQMessages(e.stdout, ms)
	fmt.Fprintf(e.stdout, "\n%s. `cogmail dlq show ID` for one; --json for every field.\n", plural(len(ms), "message"))
	return exitOK
}

func printDLQMessages(w io.Writer, ms []dlq.Message) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSQS ID\tTRIGGER\tPOOL\tUSER\tAGE\tEXPIRES\tREASON\tATTEMPTS\tLAST ERROR")
	for _, m := range ms {
		attempts := "-"
		if m.Attempts > 0 {
			attempts = strconv.Itoa(m.Attempts)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dlqShort(m.ID, 12), dlqShort(m.SQSID, 8), dashIfEmpty(m.Trigger),
			dashIfEmpty(m.Pool), dashIfEmpty(m.UserHash), shortAge(m.Age), dlqExpires(m), m.Reason, attempts, cell(m.LastError(), 70))
	}
	_ = tw.Flush()
}

func dlqShort(s string, n int) string {
	if s == "" {
		return "-"
	}
	if len(s) > n {
		return s[:n]
	}
	return s
}

func dlqExpires(m dlq.Message) string {
	switch {
	case m.ExpiresAt.IsZero():
		return "-"
	case m.Expired:
		return "expired"
	}
	return "in " + shortAge(m.ExpiresIn)
}
