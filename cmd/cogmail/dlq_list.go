package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dlqShort(m.ID, 12), dlqShort(m.SQSID, 8), dlqDash(m.Trigger),
			dlqDash(m.Pool), dlqDash(m.UserHash), dlqAge(m.Age), dlqExpires(m), m.Reason, attempts, dlqCell(m.LastError(), 70))
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

func dlqDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// dlqCell fits text into a table cell: no control characters, at most n runes.
func dlqCell(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return dlqDash(s)
}

func dlqExpires(m dlq.Message) string {
	switch {
	case m.ExpiresAt.IsZero():
		return "-"
	case m.Expired:
		return "expired"
	}
	return "in " + dlqAge(m.ExpiresIn)
}

// dlqAge prints a duration in its two largest units: 42s, 17m, 3h05m, 2d04h.
func dlqAge(d time.Duration) string {
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
