package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/cogmail/cogmail/internal/ops/dlq"
	"github.com/cogmail/cogmail/pkg/cognito"
)

func dlqCommand() command {
	return command{name: "dlq", summary: "inspect, replay and purge the dead-letter queue", run: runDLQ}
}

const dlqAbout = `usage: cogmail dlq stats|list|show ID|replay|purge [flags]

Inspects and replays the dead-letter queue (--queue URL, default $COGMAIL_DLQ_URL) with the
standard AWS configuration (AWS_PROFILE, AWS_REGION, credentials; AWS_ENDPOINT_URL_SQS for a
local endpoint). Sealed payloads are never opened: no code, address or body is shown, and the
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
	if len(args) == 0 {
		fmt.Fprint(e.stderr, dlqAbout, dlqExamples)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, dlqAbout, dlqExamples)
		return exitOK
	case "stats":
		return dlqStats(ctx, e, args[1:])
	case "list":
		return dlqList(ctx, e, args[1:])
	case "show":
		return dlqShow(ctx, e, args[1:])
	case "replay":
		return dlqReplay(ctx, e, args[1:])
	case "purge":
		return dlqPurge(ctx, e, args[1:])
	}
	fmt.Fprintf(e.stderr, "cogmail dlq: unknown subcommand %q\n\n", args[0])
	fmt.Fprint(e.stderr, dlqAbout)
	return exitUsage
}

// dlqFlags are the flags the subcommands share.
type dlqFlags struct {
	fs     *flag.FlagSet
	e      *env
	name   string
	queue  *string
	region *string
	json   *bool

	trigger, reason, user *string
	olderThan, newerThan  *string
	limit                 *int
}

func newDLQFlags(e *env, sub, usage, about, examples string) *dlqFlags {
	f := &dlqFlags{e: e, name: "cogmail dlq " + sub}
	f.fs = flag.NewFlagSet(f.name, flag.ContinueOnError)
	f.fs.SetOutput(e.stderr)
	f.queue = f.fs.String("queue", e.getenv("COGMAIL_DLQ_URL"), "URL of the dead-letter queue (COGMAIL_DLQ_URL sets the default)")
	f.region = f.fs.String("region", "", "AWS region (default: the queue URL's, then AWS_REGION or the profile's)")
	f.fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: cogmail dlq %s\n\n%s\nFlags:\n", usage, about)
		f.fs.PrintDefaults()
		fmt.Fprint(e.stderr, examples)
	}
	return f
}

func (f *dlqFlags) addJSON(what string) { f.json = f.fs.Bool("json", false, "print "+what+" as JSON") }

func (f *dlqFlags) addFilters(limitHelp string) {
	f.trigger = f.fs.String("trigger", "", "only this trigger (SignUp, ForgotPassword, ... or the full CustomEmailSender_ name)")
	f.reason = f.fs.String("reason", "", "only this reason (permanent, expired, malformed, unsealable, retries-exhausted)")
	f.user = f.fs.String("user", "", "only this user name (matched in the message, never printed)")
	f.olderThan = f.fs.String("older-than", "", "only messages older than this (90m, 6h, 2d)")
	f.newerThan = f.fs.String("newer-than", "", "only messages newer than this (90m, 6h, 2d)")
	f.limit = f.fs.Int("limit", 0, limitHelp)
}

// parse parses flags and positional arguments in any order. It returns
// false with the exit code when the command must stop here.
func (f *dlqFlags) parse(args []string, positional int) ([]string, int, bool) {
	var pos []string
	for {
		if err := f.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		if f.fs.NArg() == 0 {
			break
		}
		pos = append(pos, f.fs.Arg(0))
		args = f.fs.Args()[1:]
	}
	if len(pos) != positional {
		f.usageErr("want %d argument(s), got %d: %s", positional, len(pos), strings.Join(pos, " "))
		return nil, exitUsage, false
	}
	if *f.queue == "" {
		f.usageErr("--queue URL is required (or set COGMAIL_DLQ_URL)")
		return nil, exitUsage, false
	}
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
	if *f.limit < 0 {
		f.usageErr("--limit must not be negative")
		return flt, false
	}
	flt.Reason, flt.User, flt.Limit = *f.reason, *f.user, *f.limit
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

// open builds the queue from the standard AWS configuration, read through
// the injected environment.
func (f *dlqFlags) open(ctx context.Context) (*dlq.Queue, error) {
	cfg, err := awsConfigFromEnv(ctx, f.e.getenv, firstNonEmpty(*f.region, sqsURLRegion(*f.queue)))
	if err != nil {
		return nil, err
	}
	endpoint := serviceEndpoint(f.e.getenv, "SQS")
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return dlq.New(dlq.Options{Client: client, QueueURL: *f.queue})
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

func dlqJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// --- stats ---

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
		if err := dlqJSON(e.stdout, st); err != nil {
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
		fmt.Fprintf(tw, "oldest\t%s\t(SQS id %s)\n", dlqAge(st.OldestAge), st.OldestID)
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
		for _, k := range dlqByCount(sec.counts) {
			fmt.Fprintf(tw, "%s\t%d\n", k, sec.counts[k])
		}
		_ = tw.Flush()
	}
	fmt.Fprintf(e.stdout, "\n%s read (receive count +1 each) and made visible again.\n", plural(st.Scanned, "message"))
	return exitOK
}

// dlqByCount orders keys by count, largest first, then by name.
func dlqByCount(m map[string]int) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	return keys
}

// --- list ---

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
		if err := dlqJSON(e.stdout, ms); err != nil {
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

// --- show ---

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
		if err := dlqJSON(e.stdout, m); err != nil {
			return f.fail(err)
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	row("cogmail id", dlqDash(m.ID))
	row("SQS message id", m.SQSID)
	row("trigger", dlqDash(m.Trigger))
	row("pool", dlqDash(m.Pool))
	row("user", dlqDash(m.UserHash)+" (hash; the user name is not shown)")
	row("locale", dlqDash(m.Locale))
	row("created", stamp(m.CreatedAt)+" ("+dlqAge(m.Age)+" ago)")
	exp := stamp(m.ExpiresAt)
	if !m.ExpiresAt.IsZero() {
		exp += " (" + dlqExpires(*m) + ")"
	}
	row("expires", exp)
	row("reason", m.Reason)
	if m.Detail != "" {
		row("detail", dlqCell(m.Detail, 600))
	}
	if m.Attempts > 0 {
		row("attempts", fmt.Sprintf("%d (first %s, last %s)", m.Attempts, stamp(m.FirstAttempt), stamp(m.LastAttempt)))
	} else {
		row("attempts", "- (moved by SQS's redrive: not recorded)")
	}
	for _, p := range slices.Sorted(maps.Keys(m.LastErrors)) {
		row("last error", p+": "+dlqCell(m.LastErrors[p], 600))
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
		row("attribute", k+" = "+dlqCell(m.Attributes[k], 600))
	}
	_ = tw.Flush()
	return exitOK
}

// --- replay ---

const dlqReplayExamples = `
Examples:
  cogmail dlq replay --dry-run                            # what would move, and how
  cogmail dlq replay --yes                                # everything but expired codes
  cogmail dlq replay --trigger SignUp --older-than 2h --rate 5/s
  cogmail dlq replay --reason retries-exhausted --include-expired --yes
  cogmail dlq replay --source https://sqs.eu-west-1.amazonaws.com/123456789012/cogmail-emails
`

func dlqReplay(ctx context.Context, e *env, args []string) int {
	f := newDLQFlags(e, "replay", "replay [--queue URL] [--source URL] [filters] [--dry-run] [--rate N/s] [--include-expired] [--yes] [--json]",
		`Moves messages back to the source queue (--source, default: the queue whose redrive policy names
the DLQ). Messages whose code has expired stay in the DLQ unless --include-expired.

With no filter and no expired message to leave behind it runs an SQS move task
(StartMessageMoveTask), which moves every visible message, and waits for it; where the endpoint
lacks move tasks it falls back to send-then-delete and says so. Otherwise it sends each selected
message to the source queue and only then deletes it from the DLQ: a crash between the two leaves a
copy in both queues (dispatch's dedup key makes the second one harmless), never in neither.
Run it again to finish an interrupted replay.
`, dlqReplayExamples)
	f.addFilters("move at most N messages, the oldest")
	f.addJSON("the plan and the result")
	source := f.fs.String("source", "", "URL of the queue to move messages to (default: found from the DLQ)")
	dry := f.fs.Bool("dry-run", false, "show what would move and change nothing")
	rateS := f.fs.String("rate", "", "at most N messages a second (10/s, 0.5/s); default: no limit")
	includeExpired := f.fs.Bool("include-expired", false, "move messages whose code has expired too")
	yes := f.fs.Bool("yes", false, "do not ask for confirmation")
	if _, code, ok := f.parse(args, 0); !ok {
		return code
	}
	flt, ok := f.filter()
	if !ok {
		return exitUsage
	}
	rate, err := parseDLQRate(*rateS)
	if err != nil {
		f.usageErr("--rate: %v", err)
		return exitUsage
	}
	q, err := f.open(ctx)
	if err != nil {
		return f.fail(err)
	}
	out := e.stdout
	if *f.json {
		out = e.stderr // the plan and prompt go aside; stdout is the JSON result
	}
	prog := newDLQProgress(e.stderr)
	res, err := q.Replay(ctx, dlq.ReplayOptions{
		Filter: flt, Source: *source, IncludeExpired: *includeExpired, DryRun: *dry, Rate: rate,
		Progress: prog.update,
		Confirm: func(p *dlq.Plan) bool {
			printDLQPlan(out, p, false, *includeExpired)
			if *yes {
				return true
			}
			return dlqConfirm(e, fmt.Sprintf("Move %s to %s? Type yes to continue: ", plural(len(p.Messages), "message"), p.Source))
		},
	})
	prog.finish()
	if res != nil && *f.json {
		if jerr := dlqJSON(e.stdout, res); jerr != nil && err == nil {
			err = jerr
		}
	}
	switch {
	case errors.Is(err, dlq.ErrAborted):
		fmt.Fprintf(e.stderr, "%s: not confirmed; nothing moved (--yes skips the question)\n", f.name)
		return exitAborted
	case err != nil && res == nil:
		return f.fail(err)
	}
	if *f.json {
		return dlqReplayCode(ctx, f, err)
	}
	if *dry || len(res.Plan.Messages) == 0 {
		printDLQPlan(out, &res.Plan, true, *includeExpired)
		return exitOK
	}
	verb := "Moved"
	if err != nil {
		verb = "Before stopping, moved"
	}
	fmt.Fprintf(out, "%s %s to %s by %s.\n", verb, plural(res.Moved, "message"), res.Plan.Source, res.Method)
	if res.Note != "" {
		fmt.Fprintf(out, "Note: %s.\n", res.Note)
	}
	if res.Skipped > 0 {
		fmt.Fprintf(out, "Left in the DLQ: %s (--include-expired moves those too).\n", plural(res.Skipped, "expired message"))
	}
	if res.NotFound > 0 {
		fmt.Fprintf(out, "Not found this time (held by another reader, or gone): %s; run the replay again for them.\n", plural(res.NotFound, "planned message"))
	}
	return dlqReplayCode(ctx, f, err)
}

func dlqReplayCode(ctx context.Context, f *dlqFlags, err error) int {
	switch {
	case err == nil:
		return exitOK
	case ctx.Err() != nil:
		fmt.Fprintf(f.e.stderr, "%s: interrupted: %v\n", f.name, err)
		return exitAborted
	}
	return f.fail(err)
}

// printDLQPlan says what a replay will do (or, dry, would do).
func printDLQPlan(w io.Writer, p *dlq.Plan, dry, includeExpired bool) {
	if dry && len(p.Messages) > 0 {
		printDLQMessages(w, p.Messages)
		fmt.Fprintln(w)
	}
	how := string(p.Method)
	if p.Why != "" {
		how += " (" + p.Why + ")"
	}
	switch {
	case len(p.Messages) == 0:
		fmt.Fprintf(w, "Nothing to replay from %s.\n", p.Queue)
	case dry:
		fmt.Fprintf(w, "Would move %s to %s by %s. Dry run: nothing changed.\n", plural(len(p.Messages), "message"), p.Source, how)
	default:
		fmt.Fprintf(w, "Replay %s from %s to %s by %s.\n", plural(len(p.Messages), "message"), p.Queue, p.Source, how)
	}
	if len(p.Messages) > 0 && p.Method == dlq.MoveTask {
		fmt.Fprintln(w, "A move task moves every visible message, including any that arrive before it starts;")
		fmt.Fprintln(w, "where the endpoint lacks move tasks, send-then-delete is used instead.")
	}
	if p.Expired > 0 && !includeExpired {
		fmt.Fprintf(w, "Left in the DLQ: %s (--include-expired moves those too).\n", plural(p.Expired, "expired message"))
	}
	if p.Unselected > 0 {
		fmt.Fprintf(w, "Not selected, left in the DLQ: %s.\n", plural(p.Unselected, "message"))
	}
}

// plural is "1 message", "2 messages".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// parseDLQRate reads "10", "10/s" or "0.5/s".
func parseDLQRate(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "/s"), 64)
	if err != nil || v <= 0 || v > 1e6 {
		return 0, fmt.Errorf("%q is not a rate like 10/s or 0.5/s", s)
	}
	return v, nil
}

// dlqProgress draws a bar on a terminal; elsewhere (a log, a pipe) it writes a
// line at each tenth of the way.
type dlqProgress struct {
	w     io.Writer
	tty   bool
	shown bool
	last  int // tenths written, or the Done last drawn
	done  int
	total int
}

func newDLQProgress(w io.Writer) *dlqProgress {
	p := &dlqProgress{w: w, last: -1}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *dlqProgress) update(pr dlq.Progress) {
	p.done, p.total = pr.Done, max(pr.Total, pr.Done, 1)
	if p.tty {
		if pr.Done == p.last {
			return
		}
		p.last = pr.Done
		const width = 30
		n := p.done * width / p.total
		fmt.Fprintf(p.w, "\rreplay [%s%s] %d/%d", strings.Repeat("=", n), strings.Repeat(" ", width-n), p.done, p.total)
		p.shown = true
		return
	}
	if tenth := p.done * 10 / p.total; tenth > p.last {
		p.last = tenth
		fmt.Fprintf(p.w, "replay: %d/%d\n", p.done, p.total)
	}
}

func (p *dlqProgress) finish() {
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
}

// --- purge ---

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
