package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/ops/dlq"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
)

func dlqCommand() command {
	return command{name: "dlq", summary: "inspect, replay and purge the dead-letter queue", run: runDLQ}
}

const dlqAbout = `usage: cogmail dlq stats|list|show ID|replay|purge [flags]

Inspects and replays the dead-letter queue (--queue URL or NAME, default $COGMAIL_DLQ_URL, else
the DLQ of the local stack running here, from its wiring file .cogmail/local.env) with the
standard AWS configuration (AWS_PROFILE, AWS_REGION, credentials; AWS_ENDPOINT_URL_SQS for
another endpoint). A queue URL's host is where the calls go. The endpoint used is named on stderr. Sealed payloads are never opened: no code, address or body is shown, and the
user name appears as a short hash (in some pools it is the email address).

Reading the DLQ receives its messages: each is held for the read, then made visible again, and
its receive count goes up by one (harmless on a DLQ, which has no redrive policy of its own).

Subcommands:
  stats    counts, oldest message, counts by reason and trigger
  list     the messages, oldest first, with filters
  show ID  one message's clear metadata and dead-lettering attributes
  replay   move messages back to the source queue
  purge    delete every message

Exit status: 0 done, 1 failed, 2 bad usage, 3 declined or interrupted.
`

const dlqExamples = `
Examples:
  export COGMAIL_DLQ_URL=https://sqs.eu-west-1.amazonaws.com/123456789012/cogmail-emails-dlq
  cogmail dlq stats
  cogmail dlq list --trigger SignUp --older-than 2h
  cogmail dlq list --reason permanent --json | jq '.[].lastErrors'
  cogmail dlq show 3fa9c2e1d0b4
  cogmail dlq replay --reason retries-exhausted --dry-run
  cogmail dlq replay --rate 10/s --yes
  cogmail dlq purge
`

func runDLQ(ctx context.Context, e *env, args []string) int {
	verbs := []verb{{"stats", dlqStats}, {"list", dlqList}, {"show", dlqShow}, {"replay", dlqReplay}, {"purge", dlqPurge}}
	return runVerb(ctx, e, "cogmail dlq", verbs, func(w io.Writer) { fmt.Fprint(w, dlqAbout, dlqExamples) }, args)
}

// dlqFlags are the flags the subcommands share.
type dlqFlags struct {
	fs     *flag.FlagSet
	e      *env
	name   string
	queue  *string
	region *string
	json   *bool
	ref    queueRef // --queue resolved by parse
	// client and endpoint are open's, for other queue flags.
	client   *sqs.Client
	endpoint string

	trigger, reason, user *string
	olderThan, newerThan  *string
	limit                 *int
}

func newDLQFlags(e *env, sub, usage, about, examples string) *dlqFlags {
	f := &dlqFlags{e: e, name: "cogmail dlq " + sub}
	f.fs = flag.NewFlagSet(f.name, flag.ContinueOnError)
	f.fs.SetOutput(e.stderr)
	f.queue = f.fs.String("queue", "", "the dead-letter queue: its URL (calls go to its host) or its name (default $COGMAIL_DLQ_URL, else the running local stack's)")
	f.region = f.fs.String("region", "", "AWS region (default: the queue URL's, then AWS_REGION or the profile's)")
	f.fs.Usage = func() {
		fmt.Fprintf(f.fs.Output(), "usage: cogmail dlq %s\n\n%s\nFlags:\n", usage, about)
		f.fs.PrintDefaults()
		fmt.Fprint(f.fs.Output(), examples)
	}
	return f
}

func (f *dlqFlags) addJSON(what string) { f.json = f.fs.Bool("json", false, "print "+what+" as JSON") }

func (f *dlqFlags) addFilters(limitHelp string) {
	f.trigger = f.fs.String("trigger", "", "only this trigger (SignUp, ForgotPassword, ... or the full CustomEmailSender_ name)")
	f.reason = f.fs.String("reason", "", "only this reason ("+strings.Join(dlqReasons(), ", ")+")")
	f.user = f.fs.String("user", "", "only this user name (matched in the message, never printed)")
	f.olderThan = f.fs.String("older-than", "", "only messages older than this (90m, 6h, 2d)")
	f.newerThan = f.fs.String("newer-than", "", "only messages newer than this (90m, 6h, 2d)")
	f.limit = f.fs.Int("limit", 0, limitHelp)
}

// parse parses flags and positional arguments in any order. It returns
// false with the exit code when the command must stop here.
func (f *dlqFlags) parse(args []string, positional int) ([]string, int, bool) {
	pos, code, ok := parseFlags(f.e, f.fs, args)
	if !ok {
		return nil, code, false
	}
	if len(pos) != positional {
		f.usageErr("want %d argument(s), got %d: %s", positional, len(pos), strings.Join(pos, " "))
		return nil, exitUsage, false
	}
	ref, err := resolveQueue(f.e, "--queue", *f.queue, "COGMAIL_DLQ_URL", "COGMAIL_DLQ_URL")
	if err != nil {
		f.usageErr("%v", err)
		return nil, exitUsage, false
	}
	f.ref = ref
	return pos, exitOK, true
}

func (f *dlqFlags) usageErr(format string, args ...any) {
	fmt.Fprintf(f.e.stderr, "%s: %s\n", f.name, fmt.Sprintf(format, args...))
}

func (f *dlqFlags) fail(err error) int {
	fmt.Fprintf(f.e.stderr, "%s: %v\n", f.name, err)
	if errors.Is(err, context.Canceled) {
		return exitAborted // Ctrl-C: what was read is visible again
	}
	return exitFailed
}

func (f *dlqFlags) filter() (dlq.Filter, bool) {
	var flt dlq.Filter
	if f.trigger == nil {
		return flt, true
	}
	if *f.trigger != "" {
		t, err := cognito.ParseTrigger(*f.trigger)
		if err != nil {
			f.usageErr("--trigger: %v", err)
			return flt, false
		}
		flt.Trigger = string(t)
	}
	for _, d := range []struct {
		name string
		in   string
		out  *time.Duration
	}{{"--older-than", *f.olderThan, &flt.OlderThan}, {"--newer-than", *f.newerThan, &flt.NewerThan}} {
		if d.in == "" {
			continue
		}
		v, err := parseDLQAge(d.in)
		if err != nil {
			f.usageErr("%s: %v", d.name, err)
			return flt, false
		}
		*d.out = v
	}
	if r := strings.TrimSpace(*f.reason); r != "" && !slices.Contains(dlqReasons(), r) {
		f.usageErr("--reason %q is not a dead-letter reason: want one of %s%s", r, strings.Join(dlqReasons(), ", "), didYouMean(r, dlqReasons(), ""))
		return flt, false
	}
	if *f.limit < 0 {
		f.usageErr("--limit must not be negative")
		return flt, false
	}
	flt.Reason, flt.User, flt.Limit = strings.TrimSpace(*f.reason), *f.user, *f.limit
	return flt, true
}

var dlqDaysRE = regexp.MustCompile(`^(\d+)d(.*)$`)

// parseDLQAge reads a Go duration that may start with whole days ("2d", "1d12h").
func parseDLQAge(s string) (time.Duration, error) {
	var days time.Duration
	if m := dlqDaysRE.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		days, s = time.Duration(n)*24*time.Hour, m[2]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration like 90m, 6h or 2d", s)
	}
	return days + d, nil
}

// open builds the queue from --queue (a URL or a name), COGMAIL_DLQ_URL or
// the local stack's wiring, and says which endpoint it uses.
func (f *dlqFlags) open(ctx context.Context) (*dlq.Queue, error) {
	ref := f.ref
	client, url, region, err := ref.sqsClient(ctx, *f.region)
	if err != nil {
		if ref.where != "" {
			return nil, fmt.Errorf("%s: %w", ref.where, err)
		}
		return nil, err
	}
	ref.announce(f.e, f.name, "SQS", region)
	f.client, f.endpoint = client, ref.endpoint
	return dlq.New(dlq.Options{Client: client, QueueURL: url})
}

// queueURL resolves another queue flag (replay's --source) at the DLQ's
// endpoint: a URL on another host is refused, a name is looked up.
func (f *dlqFlags) queueURL(ctx context.Context, flagName, value string) (string, error) {
	value = strings.TrimSpace(value)
	switch {
	case value == "":
		return "", nil
	case strings.Contains(value, "://"):
		if f.endpoint != "" && !strings.HasPrefix(value, strings.TrimRight(f.endpoint, "/")+"/") {
			return "", fmt.Errorf("%s %s is not on the DLQ's endpoint %s: both queues must be on one endpoint", flagName, value, f.endpoint)
		}
		return value, nil
	case !sqsQueueName.MatchString(value):
		return "", fmt.Errorf("%s %q is neither a queue URL nor a queue name", flagName, value)
	}
	out, err := f.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(value)})
	if err != nil {
		return "", fmt.Errorf("%s: find queue %s: %w", flagName, value, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// sqsURLRegion is the region in an SQS queue URL's host
// (https://sqs.REGION.amazonaws.com/... or the legacy REGION.queue.amazonaws.com),
// so that a URL alone reaches its queue; "" for other hosts (a local endpoint).
func sqsURLRegion(url string) string {
	host, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://"), "/")
	parts := strings.Split(host, ".")
	switch {
	case len(parts) >= 4 && parts[0] == "sqs" && parts[2] == "amazonaws":
		return parts[1]
	case len(parts) >= 4 && parts[1] == "queue" && parts[2] == "amazonaws":
		return parts[0]
	}
	return ""
}

// dlqReasons are the dead-letter reasons --reason takes.
func dlqReasons() []string {
	var out []string
	for _, r := range envelope.DeadLetterReasons() {
		out = append(out, string(r))
	}
	return out
}
