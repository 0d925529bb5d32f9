package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/cogmail/cogmail/internal/ops/dlq"
)

func dlqShow(ctx context.Context, e *env, args []string) int {
	f := newDLQFlags(e, "show", "show ID [--queue URL] [--json]",
		"Shows one message's clear metadata and dead-lettering attributes. ID is the cogmail message id\nor the SQS message id, or the start of either (6 characters or more). The payload is sealed and\nis not shown.\n",
		"\nExamples:\n  cogmail dlq show 3fa9c2e1d0b4\n  cogmail dlq show 5e3c2b1a-8f0d-4d8e-9a51-0c7d4f1e2b3a --json\n")
	f.addJSON("the message")
	pos, code, ok := f.parse(args, 1)
	if !ok {
		return code
	}
	q, err := f.open(ctx)
	if err != nil {
		return f.fail(err)
	}
	m, err := q.Find(ctx, pos[0])
	if err != nil {
		return f.fail(err)
	}
	if *f.json {
		if err := writeJSON(e.stdout, m); err != nil {
			return f.fail(err)
		}
		return exitOK
	}
	printDLQMessage(e.stdout, m)
	return exitOK
}

// printDLQMessage is one message's clear metadata, a row a field; the
// payload is sealed and only its size is shown.
func printDLQMessage(w io.Writer, m *dlq.Message) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	row("cogmail id", dashIfEmpty(m.ID))
	row("SQS message id", m.SQSID)
	row("trigger", dashIfEmpty(m.Trigger))
	row("pool", dashIfEmpty(m.Pool))
	row("user", dashIfEmpty(m.UserHash)+" (hash; the user name is not shown)")
	row("locale", dashIfEmpty(m.Locale))
	row("created", stamp(m.CreatedAt)+" ("+shortAge(m.Age)+" ago)")
	exp := stamp(m.ExpiresAt)
	if !m.ExpiresAt.IsZero() {
		exp += " (" + dlqExpires(*m) + ")"
	}
	row("expires", exp)
	row("reason", m.Reason)
	if m.Detail != "" {
		row("detail", cell(m.Detail, 600))
	}
	if m.Attempts > 0 {
		row("attempts", fmt.Sprintf("%d (first %s, last %s)", m.Attempts, stamp(m.FirstAttempt), stamp(m.LastAttempt)))
	} else {
		row("attempts", "- (moved by SQS's redrive: not recorded)")
	}
	for _, p := range slices.Sorted(maps.Keys(m.LastErrors)) {
		row("last error", p+": "+cell(m.LastErrors[p], 600))
	}
	row("sent", stamp(m.SentAt))
	row("receive count", strconv.Itoa(m.ReceiveCount)+" (this read included)")
	if m.Problem != "" {
		row("problem", m.Problem)
		row("payload", "not a readable envelope; the body is not shown")
	} else {
		row("payload", fmt.Sprintf("sealed, %d bytes (recipient, subject and bodies are not shown)", m.SealedBytes))
	}
	for _, k := range slices.Sorted(maps.Keys(m.Attributes)) {
		row("attribute", k+" = "+cell(m.Attributes[k], 600))
	}
	_ = tw.Flush()
}
