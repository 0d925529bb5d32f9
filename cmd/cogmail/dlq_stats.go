package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

func dlqStats(ctx context.Context, e *env, args []string) int {
	f := newDLQFlags(e, "stats", "stats [--queue URL] [--json]",
		"Counts the DLQ's messages (visible, in flight, delayed) and reads the visible ones for the age\nof the oldest and the counts by reason and trigger.\n",
		"\nExamples:\n  cogmail dlq stats --queue $COGMAIL_DLQ_URL\n  cogmail dlq stats --json | jq .byReason\n")
	f.addJSON("the stats")
	if _, code, ok := f.parse(args, 0); !ok {
		return code
	}
	q, err := f.open(ctx)
	if err != nil {
		return f.fail(err)
	}
	st, err := q.Stats(ctx)
	if err != nil {
		return f.fail(err)
	}
	if *f.json {
		if err := writeJSON(e.stdout, st); err != nil {
			return f.fail(err)
		}
		return exitOK
	}
	fmt.Fprintf(e.stdout, "DLQ %s\n\n", st.Queue)
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "visible\t%d\n", st.Visible)
	if st.InFlight > 0 {
		fmt.Fprintf(tw, "in flight\t%d\t(held by another reader: not read)\n", st.InFlight)
	} else {
		fmt.Fprintf(tw, "in flight\t%d\n", st.InFlight)
	}
	fmt.Fprintf(tw, "delayed\t%d\n", st.Delayed)
	if st.Scanned > 0 {
		fmt.Fprintf(tw, "oldest\t%s\t(SQS id %s)\n", shortAge(st.OldestAge), st.OldestID)
		fmt.Fprintf(tw, "expired\t%d of %d\t(replay leaves them unless --include-expired)\n", st.Expired, st.Scanned)
	}
	_ = tw.Flush()
	for _, sec := range []struct {
		title  string
		counts map[string]int
	}{{"REASON", st.ByReason}, {"TRIGGER", st.ByTrigger}} {
		if len(sec.counts) == 0 {
			continue
		}
		fmt.Fprintln(e.stdout)
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "%s\tMESSAGES\n", sec.title)
		for _, k := range byCount(sec.counts) {
			fmt.Fprintf(tw, "%s\t%d\n", k, sec.counts[k])
		}
		_ = tw.Flush()
	}
	fmt.Fprintf(e.stdout, "\n%s read (receive count +1 each) and made visible again.\n", plural(st.Scanned, "message"))
	return exitOK
}
