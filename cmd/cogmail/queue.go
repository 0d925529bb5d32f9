package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/internal/local/localstack"
)

func queueCommand() command {
	return command{name: "queue", summary: "what the emails queue holds: mail waiting and mail held through an outage", run: runQueue}
}

const queueAbout = `usage: cogmail queue stats [--queue URL|NAME] [--json]

Shows what the emails queue (--queue, default $COGMAIL_QUEUE_URL, else the running local
stack's) holds, with the standard AWS configuration. Held mail is the signal of an outage:
dispatch retries a message by time until its code expires, so while every provider fails
the queue fills with messages in flight (hidden until their next try), and the DLQ stays
empty. Nothing is received: the counts do not disturb dispatch.

Subcommands:
  stats    visible, in flight (held), delayed; on the local stack also the oldest age and
           the counts by trigger

Exit status: 0 done, 1 failed, 2 bad usage.
`

const queueExamples = `
Examples:
  cogmail queue stats
  cogmail queue stats --queue $COGMAIL_QUEUE_URL --json | jq .inFlight
`

func runQueue(ctx context.Context, e *env, args []string) int {
	return runVerb(ctx, e, "cogmail queue", []verb{{name: "stats", run: queueStats}},
		func(w io.Writer) { fmt.Fprint(w, queueAbout, queueExamples) }, args)
}

// queueReport is `cogmail queue stats`'s answer.
type queueReport struct {
	Queue    string `json:"queue"`
	Visible  int    `json:"visible"`  // waiting for dispatch
	InFlight int    `json:"inFlight"` // being sent, or held until their next try
	Delayed  int    `json:"delayed"`
	// OldestAgeSeconds and ByTrigger come from the local stack, which sees
	// every message; SQS shows neither for messages in flight.
	OldestAgeSeconds *float64                           `json:"oldestAgeSeconds,omitempty"`
	ByTrigger        map[string]localstack.TriggerCount `json:"byTrigger,omitempty"`
	Source           string                             `json:"source"` // where oldest and byTrigger come from
}

func queueStats(ctx context.Context, e *env, args []string) int {
	const name = "cogmail queue stats"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	queueFlag := fs.String("queue", "", "the emails queue: its URL or name (default $COGMAIL_QUEUE_URL, else the running local stack's)")
	region := fs.String("region", "", "AWS region (default: the queue URL's, then AWS_REGION or the profile's)")
	asJSON := fs.Bool("json", false, "print the stats as JSON")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: cogmail queue stats [--queue URL|NAME] [--json]\n\n%s\nFlags:\n", strings.SplitN(queueAbout, "\n\n", 2)[1])
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), queueExamples)
	}
	if code, ok := parseNoOperands(e, fs, args); !ok {
		return code
	}
	ref, err := resolveQueue(e, "--queue", *queueFlag, "COGMAIL_QUEUE_URL", "COGMAIL_QUEUE_URL")
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %v\n", name, err)
		return exitUsage
	}
	fail := func(err error) int { fmt.Fprintf(e.stderr, "%s: %v\n", name, err); return exitFailed }
	client, url, reg, err := ref.sqsClient(ctx, *region)
	if err != nil {
		return fail(err)
	}
	ref.announce(e, name, "SQS", reg)
	r, err := readQueueReport(ctx, client, url)
	if err != nil {
		return fail(err)
	}
	if st, ok := localQueueStatus(ctx, ref.endpoint, url); ok {
		age := st.OldestAgeSeconds
		r.OldestAgeSeconds, r.ByTrigger, r.Source = &age, st.ByTrigger, "the local stack at "+ref.endpoint
	}
	if *asJSON {
		if err := writeJSON(e.stdout, r); err != nil {
			return fail(err)
		}
		return exitOK
	}
	printQueueReport(e.stdout, r)
	return exitOK
}

// readQueueReport is the queue's counts as SQS reports them.
func readQueueReport(ctx context.Context, client *sqs.Client, url string) (queueReport, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
	if err != nil {
		return queueReport{}, fmt.Errorf("read the queue's counts: %w", err)
	}
	count := func(a sqstypes.QueueAttributeName) int { n, _ := strconv.Atoi(out.Attributes[string(a)]); return n }
	return queueReport{Queue: url, Visible: count(sqstypes.QueueAttributeNameApproximateNumberOfMessages),
		InFlight: count(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible),
		Delayed:  count(sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed),
		Source:   "AWS: SQS shows no message in flight; the oldest held mail is dispatch's HeldAge metric (HeldMessageAgeAlarm), held mail by trigger its Held metric"}, nil
}

// printQueueReport is the report as a table, with held mail by trigger
// where the local stack told it.
func printQueueReport(w io.Writer, r queueReport) {
	fmt.Fprintf(w, "queue %s\n\n", r.Queue)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "visible\t%d\t(waiting for dispatch)\n", r.Visible)
	fmt.Fprintf(tw, "in flight\t%d\t(being sent, or held until their next try: an outage if it grows)\n", r.InFlight)
	fmt.Fprintf(tw, "delayed\t%d\n", r.Delayed)
	if r.OldestAgeSeconds != nil {
		fmt.Fprintf(tw, "oldest\t%s\n", shortAge(time.Duration(*r.OldestAgeSeconds)*time.Second))
	}
	_ = tw.Flush()
	if len(r.ByTrigger) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TRIGGER\tVISIBLE\tIN FLIGHT")
		totals := map[string]int{}
		for t, c := range r.ByTrigger {
			totals[t] = c.Visible + c.InFlight
		}
		for _, t := range byCount(totals) {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", t, r.ByTrigger[t].Visible, r.ByTrigger[t].InFlight)
		}
		_ = tw.Flush()
	}
	if r.OldestAgeSeconds == nil {
		fmt.Fprintf(w, "\n%s.\n", r.Source)
	}
}

// localQueueStatus asks a local stack's /api/queues for the queue at url;
// ok is false for any other endpoint (AWS answers no such page).
func localQueueStatus(ctx context.Context, endpoint, url string) (localstack.QueueStatus, bool) {
	if endpoint == "" || strings.HasSuffix(hostOf(endpoint), ".amazonaws.com") {
		return localstack.QueueStatus{}, false
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, strings.TrimRight(endpoint, "/")+"/api/queues", nil)
	if err != nil {
		return localstack.QueueStatus{}, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return localstack.QueueStatus{}, false
	}
	defer resp.Body.Close()
	var qs []localstack.QueueStatus
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&qs) != nil {
		return localstack.QueueStatus{}, false
	}
	for _, q := range qs {
		if sameEndpoint(q.URL, url) {
			return q, true
		}
	}
	return localstack.QueueStatus{}, false
}
