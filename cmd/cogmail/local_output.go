package main

// What `cogmail local` prints: the samples' table, what failed and why,
// the addresses, and the wiring of a running stack.

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/internal/ops/dlq"
)

// printSamples prints the samples' table and summary; it returns how many
// failed. A failed sample's outcome is its dead-letter reason when it has one.
func printSamples(e *env, samples []localstack.Sample, dead map[string]dlq.Message) int {
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TRIGGER\tRECIPIENT\tLOCALE\tEXPIRES IN\tPROVIDER\tOUTCOME")
	failed := 0
	for _, s := range samples {
		// The outcome is the last column, so its colour codes do not
		// upset the alignment.
		outcome, provider := e.paint(green, "delivered"), s.Delivery.Provider
		if len(s.Delivery.Failovers) > 0 {
			outcome = e.paint(yellow, "delivered after "+strings.Join(s.Delivery.Failovers, ", "))
		}
		if s.Err != nil {
			failed++
			why := "FAILED: " + s.Err.Error()
			if m, ok := dead[s.Result.MessageID]; ok {
				why = "FAILED: dead-lettered, reason " + m.Reason
			}
			outcome, provider = e.paint(red, why), "-"
		}
		expires := "-" // not enqueued
		if !s.Result.ExpiresAt.IsZero() {
			expires = time.Until(s.Result.ExpiresAt).Round(time.Minute).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Trigger.Short(), s.Email, s.Result.Locale, expires, provider, outcome)
	}
	_ = tw.Flush()
	summary := fmt.Sprintf("%d of %d sample emails delivered", len(samples)-failed, len(samples))
	if failed > 0 {
		summary = e.paint(red, summary)
	} else {
		summary = e.paint(green, summary)
	}
	fmt.Fprintf(e.stdout, "\n%s (ingest -> sealed in SQS -> dispatch -> provider)\n", summary)
	return failed
}

// deadLettered reads the stack's DLQ, by cogmail message id; nil when no
// sample failed (or the DLQ cannot be read: the table then says less).
func deadLettered(ctx context.Context, stack *localstack.Stack, samples []localstack.Sample) map[string]dlq.Message {
	if !slices.ContainsFunc(samples, func(s localstack.Sample) bool { return s.Err != nil }) {
		return nil
	}
	q, err := dlq.New(dlq.Options{Client: stack.SQSClient, QueueURL: stack.DLQURL, Wait: time.Second})
	if err != nil {
		return nil
	}
	ms, err := q.List(ctx, dlq.Filter{})
	if err != nil {
		return nil
	}
	out := map[string]dlq.Message{}
	for _, m := range ms {
		out[m.ID] = m
	}
	return out
}

// printFailures says why the failed samples failed, grouped: each
// dead-letter reason with the providers' last errors, or that dispatch was
// still retrying; then what to run to look further. With --once the stack
// and its DLQ end with the command, so the advice is the same command
// without --once.
func printFailures(e *env, samples []localstack.Sample, dead map[string]dlq.Message, once bool, args []string) {
	var order []string
	groups := map[string][]string{}
	for _, s := range samples {
		if s.Err == nil {
			continue
		}
		why := s.Err.Error()
		if m, ok := dead[s.Result.MessageID]; ok {
			why = "dead-lettered, reason " + m.Reason
			for _, p := range slices.Sorted(maps.Keys(m.LastErrors)) {
				why += "\n      last " + p + " error: " + cell(m.LastErrors[p], 160)
			}
			if m.Detail != "" {
				why += "\n      " + cell(m.Detail, 160)
			}
		} else if s.Result.MessageID != "" {
			why = "not delivered yet: dispatch was still retrying when --wait ended"
		}
		if _, ok := groups[why]; !ok {
			order = append(order, why)
		}
		groups[why] = append(groups[why], s.Trigger.Short())
	}
	fmt.Fprintln(e.stdout, "\nWhy:")
	for _, why := range order {
		fmt.Fprintf(e.stdout, "  %s: %s\n", strings.Join(groups[why], ", "), why)
	}
	if !once {
		fmt.Fprintln(e.stdout, "\nMore: cogmail dlq list, cogmail dlq show ID; after a fix, cogmail dlq replay --yes.")
		return
	}
	rest := slices.DeleteFunc(slices.Clone(args), func(a string) bool {
		return slices.Contains([]string{"--once", "-once", "--once=true", "-once=true"}, a)
	})
	inbox := "the inbox at http://" + localAddr(args) + "/"
	if strings.HasSuffix(localAddr(args), ":0") {
		inbox = "the inbox at the address it prints"
	}
	fmt.Fprintf(e.stdout, "\nThe stack stopped (--once), and its DLQ with it. To look at the failures, keep it running:\n  %s\nthen, in another shell: cogmail dlq list   (and %s)\n",
		strings.Join(append([]string{"cogmail", "local"}, shellWords(rest)...), " "), inbox)
}

// localAddr is the --addr among args, else the default.
func localAddr(args []string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(strings.TrimLeft(a, "-"), "addr="); ok {
			return v
		}
		if strings.TrimLeft(a, "-") == "addr" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return defaultLocalAddr
}

func shellWords(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = shellQuote(a)
	}
	return out
}

// printLocalAddresses says where everything is on a running stack.
func printLocalAddresses(e *env, stack *localstack.Stack, wiringFile string) {
	fmt.Fprintf(e.stdout, "\nInbox:  %s/\nQueues: %s/queues\n", stack.URL, stack.URL)
	fmt.Fprintf(e.stdout, "Invoke: cogmail event --trigger SignUp --email you@example.com --out ev.json && cogmail invoke --event ev.json\n")
	fmt.Fprintf(e.stdout, "        (or aws lambda invoke --endpoint-url %s --function-name ingest ...)\n", stack.URL)
	fmt.Fprintf(e.stdout, "DLQ:    cogmail dlq stats   Providers: cogmail providers show   Suppressions: cogmail suppressions list\n")
	fmt.Fprintf(e.stdout, "Webhooks: POST %s/webhooks/sendgrid, POST %s/webhooks/mailgun (with their keys' flags)\n", stack.URL, stack.URL)
	fmt.Fprintf(e.stdout, "Faults: curl -X PUT --data 'sendgrid=0.5' %s/api/faults   (an empty body clears them; GET shows them)\n", stack.URL)
	if wiringFile != "none" {
		fmt.Fprintf(e.stdout, "\nWiring: %s (the cogmail commands above read it). Point other AWS clients at the stack:\n  eval \"$(cogmail local --print-env)\"   or:\n", wiringFile)
	} else {
		fmt.Fprintln(e.stdout, "\nPoint AWS clients at the stack:")
	}
	for _, x := range stack.Exports() {
		fmt.Fprintln(e.stdout, "  "+x)
	}
}

// printLocalEnv prints the wiring of the stack running here, after checking
// that it answers.
func printLocalEnv(ctx context.Context, e *env) int {
	w, err := localWiring(e.getenv)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail local: %v\n", err)
		return exitFailed
	}
	if w == nil {
		fmt.Fprintf(e.stderr, "cogmail local: no local stack runs here (no %s): start one with cogmail local\n", wiringPath(e.getenv))
		return exitFailed
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url()+"/api/queues", nil)
	if err == nil {
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail local: %s names a stack at %s that does not answer (%v): it stopped without removing the file? Start cogmail local again.\n", w.path, w.url(), err)
		return exitFailed
	}
	b, err := os.ReadFile(w.path)
	if err != nil {
		fmt.Fprintf(e.stderr, "cogmail local: %v\n", err)
		return exitFailed
	}
	_, _ = e.stdout.Write(b)
	return exitOK
}
