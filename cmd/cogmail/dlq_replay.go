package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/cogmail/cogmail/internal/ops/dlq"
)

const dlqReplayExamples = `
Examples:
  cogmail dlq replay --dry-run                            # what would move, and how
  cogmail dlq replay --yes                                # everything but expired codes
  cogmail dlq replay --trigger SignUp --older-than 2h --rate 5/s
  cogmail dlq replay --reason retries-exhausted --include-expired --yes
  cogmail dlq replay --source https://sqs.eu-west-1.amazonaws.com/123456789012/cogmail-emails
`

const dlqReplayAbout = `Moves messages back to the source queue (--source, default: the queue whose redrive policy names
the DLQ). Messages whose code has expired stay in the DLQ unless --include-expired.

With no filter and no expired message to leave behind it runs an SQS move task
(StartMessageMoveTask), which moves every visible message, and waits for it; where the endpoint
lacks move tasks it falls back to send-then-delete and says so. Otherwise it sends each selected
message to the source queue and only then deletes it from the DLQ: a crash between the two leaves a
copy in both queues (dispatch's dedup key makes the second one harmless), never in neither.
Run it again to finish an interrupted replay.
`

func dlqReplay(ctx context.Context, e *env, args []string) int {
	f := newDLQFlags(e, "replay", "replay [--queue URL] [--source URL] [filters] [--dry-run] [--rate N/s] [--include-expired] [--yes] [--json]",
		dlqReplayAbout, dlqReplayExamples)
	f.addFilters("move at most N messages, the oldest")
	f.addJSON("the plan and the result")
	source := f.fs.String("source", "", "the queue to move messages to, its URL or name (default: found from the DLQ)")
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
	src, err := f.queueURL(ctx, "--source", *source)
	if err != nil {
		return f.fail(err)
	}
	out := e.stdout
	if *f.json {
		out = e.stderr // the plan and prompt go aside; stdout is the JSON result
	}
	return replayDLQ(ctx, f, q, out, dlq.ReplayOptions{
		Filter: flt, Source: src, IncludeExpired: *includeExpired, DryRun: *dry, Rate: rate,
		Confirm: confirmDLQReplay(e, out, *yes, *includeExpired),
	})
}

// confirmDLQReplay shows the plan and asks (unless yes) before anything moves.
func confirmDLQReplay(e *env, out io.Writer, yes, includeExpired bool) func(*dlq.Plan) bool {
	return func(p *dlq.Plan) bool {
		printDLQPlan(out, p, false, includeExpired)
		if yes {
			return true
		}
		return confirm(e.stdin, out, fmt.Sprintf("Move %s to %s? [y/N] ", plural(len(p.Messages), "message"), p.Source))
	}
}

// replayDLQ runs the replay o describes, with progress on stderr, and
// reports it on out (or as JSON on stdout with --json).
func replayDLQ(ctx context.Context, f *dlqFlags, q *dlq.Queue, out io.Writer, o dlq.ReplayOptions) int {
	e := f.e
	prog := newDLQProgress(e.stderr)
	o.Progress = prog.update
	res, err := q.Replay(ctx, o)
	prog.finish()
	if res != nil && *f.json {
		if jerr := writeJSON(e.stdout, res); jerr != nil && err == nil {
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
	if o.DryRun || len(res.Plan.Messages) == 0 {
		printDLQPlan(out, &res.Plan, true, o.IncludeExpired)
		return exitOK
	}
	printDLQReplay(out, res, err != nil)
	return dlqReplayCode(ctx, f, err)
}

// printDLQReplay says what a replay moved, and what it left; stopped is
// for a replay that ended on an error.
func printDLQReplay(out io.Writer, res *dlq.ReplayResult, stopped bool) {
	verb := "Moved"
	if stopped {
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
