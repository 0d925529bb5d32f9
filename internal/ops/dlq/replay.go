package dlq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"github.com/cogmail/cogmail/pkg/envelope"
)

// Method is how a replay moves messages.
type Method string

const (
	// MoveTask is SQS's StartMessageMoveTask: SQS moves every visible
	// message server-side. Used when nothing is filtered out.
	MoveTask Method = "StartMessageMoveTask"
	// SendDelete sends each selected message to the source queue and only
	// then deletes it from the DLQ: a crash between the two leaves a copy in
	// both queues (dispatch's dedup key makes the second send a no-op),
	// never in neither.
	SendDelete Method = "send-then-delete"
)

// maxMoveRate is StartMessageMoveTask's highest MaxNumberOfMessagesPerSecond.
const maxMoveRate = 500

// ReplayOptions says what to replay and how.
type ReplayOptions struct {
	Filter Filter
	// Source is the queue to move messages to; "" finds the queue that
	// uses the DLQ as its dead-letter queue.
	Source string
	// IncludeExpired moves messages whose code has expired too; by default
	// they stay in the DLQ (a code past its expiry is useless to the user).
	IncludeExpired bool
	// DryRun plans and changes nothing.
	DryRun bool
	// Rate limits the messages moved per second (0: no limit). A move task
	// takes whole rates from 1 to 500; any other rate moves by send-then-delete.
	Rate float64
	// Confirm is asked after planning, before anything moves; false aborts
	// with ErrAborted. Nil goes ahead. The messages read for the plan are
	// visible again while it asks.
	Confirm func(*Plan) bool
	// Progress is told after each message (send-then-delete) or each check
	// of the move task.
	Progress func(Progress)
}

// Plan is what a replay will do, from one read of the DLQ.
type Plan struct {
	Queue      string    `json:"queue"`
	Source     string    `json:"source"`
	Method     Method    `json:"method"`
	Why        string    `json:"why,omitempty"` // why not a move task
	Messages   []Message `json:"messages"`      // what moves, oldest first
	Expired    int       `json:"expired"`       // selected but expired: they stay in the DLQ
	Unselected int       `json:"unselected"`    // left by the filter (and its limit)
}

// Progress is how far a replay has got.
type Progress struct {
	Done  int // moved or skipped
	Total int // planned (a move task's own count once it has one)
}

// ReplayResult is what a replay did.
type ReplayResult struct {
	Plan       Plan   `json:"plan"`
	Method     Method `json:"method"`         // how messages moved (differs from the plan's after a fallback)
	Note       string `json:"note,omitempty"` // why it fell back
	Moved      int    `json:"moved"`
	Skipped    int    `json:"skipped"`  // expired, left in the DLQ (the plan's, and any that expired since)
	NotFound   int    `json:"notFound"` // planned but not read again: held by another reader, or gone
	TaskHandle string `json:"taskHandle,omitempty"`
}

// ErrAborted is returned by Replay when Confirm says no.
var ErrAborted = errors.New("dlq: replay not confirmed")

// Replay plans (one read of the DLQ), asks Confirm, then moves the planned
// messages to the source queue. With no filter and nothing expired to leave
// behind it starts an SQS move task and waits for it; when the endpoint does
// not implement move tasks it falls back to send-then-delete and says so in
// Note. Otherwise it moves exactly the planned messages by send-then-delete.
// On an error the result says what was done before it.
func (q *Queue) Replay(ctx context.Context, o ReplayOptions) (*ReplayResult, error) {
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return nil, fmt.Errorf("dlq: rate %v is not a number of messages per second", o.Rate)
	}
	plan, err := q.plan(ctx, o)
	if err != nil {
		return nil, err
	}
	res := &ReplayResult{Plan: *plan, Method: plan.Method, Skipped: plan.Expired}
	if o.DryRun || len(plan.Messages) == 0 {
		return res, nil
	}
	if o.Confirm != nil && !o.Confirm(plan) {
		return res, ErrAborted
	}
	if plan.Method == MoveTask {
		err := q.moveTask(ctx, plan, o, res)
		var u *unsupportedError
		if !errors.As(err, &u) {
			return res, err
		}
		res.Method = SendDelete
		res.Note = "the endpoint does not implement StartMessageMoveTask (" + u.Error() + "); moved by send-then-delete instead"
	}
	return res, q.sendDelete(ctx, plan, o, res)
}

func (q *Queue) plan(ctx context.Context, o ReplayOptions) (*Plan, error) {
	p := &Plan{Queue: q.url, Source: o.Source}
	if p.Source == "" {
		var err error
		if p.Source, err = q.SourceURL(ctx); err != nil {
			return nil, err
		}
	}
	if p.Source == q.url {
		return nil, errors.New("dlq: the source queue is the dead-letter queue itself")
	}
	err := q.scan(ctx, q.hold, func(m *Message) (bool, bool, error) {
		switch {
		case !o.Filter.Match(m):
			p.Unselected++
		case m.Expired && !o.IncludeExpired:
			p.Expired++
		default:
			p.Messages = append(p.Messages, *m)
		}
		return false, false, nil
	})
	if err != nil {
		return nil, err
	}
	sortOldest(p.Messages)
	if l := o.Filter.Limit; l > 0 && len(p.Messages) > l {
		p.Unselected += len(p.Messages) - l
		p.Messages = p.Messages[:l]
	}
	switch {
	case !o.Filter.IsZero():
		p.Method, p.Why = SendDelete, "a filter selects the messages"
	case p.Expired > 0:
		p.Method, p.Why = SendDelete, "expired messages stay in the DLQ"
	case o.Rate != 0 && (o.Rate != math.Trunc(o.Rate) || o.Rate > maxMoveRate):
		p.Method, p.Why = SendDelete, fmt.Sprintf("a move task takes a whole rate from 1 to %d per second", maxMoveRate)
	default:
		p.Method = MoveTask
	}
	return p, nil
}

// unsupportedError is a StartMessageMoveTask the endpoint does not have.
type unsupportedError struct{ err error }

func (e *unsupportedError) Error() string {
	var re *awshttp.ResponseError
	if errors.As(e.err, &re) {
		return fmt.Sprintf("HTTP %d", re.HTTPStatusCode())
	}
	return e.err.Error()
}

// unsupported classifies a failed StartMessageMoveTask by what the endpoint
// answered: an unknown-operation error code, or a server error (moto answers
// 500). A server error from SQS itself is transient, but falling back is
// still safe: send-then-delete and a move task never take the same message.
func unsupported(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "InvalidAction",
			"UnknownOperation", "UnknownOperationException", "NotImplemented", "NotImplementedException":
			return true
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusInternalServerError, http.StatusNotImplemented:
			return true
		}
	}
	return false
}

// moveTask runs an SQS move task from the DLQ to the source and waits for it.
// Interrupted, it cancels the task (what has moved stays moved).
func (q *Queue) moveTask(ctx context.Context, p *Plan, o ReplayOptions, res *ReplayResult) error {
	dlqARN, err := q.arn(ctx, q.url)
	if err != nil {
		return err
	}
	srcARN, err := q.arn(ctx, p.Source)
	if err != nil {
		return err
	}
	// The newest task before ours: SQS lists tasks eventually, so right
	// after the start the newest listed may still be an earlier one.
	var before *sqstypes.ListMessageMoveTasksResultEntry
	if lt, err := q.c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN), MaxResults: aws.Int32(1)},
		func(so *sqs.Options) { so.RetryMaxAttempts = 1 }); err == nil && len(lt.Results) > 0 {
		before = &lt.Results[0]
	}
	in := &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN), DestinationArn: aws.String(srcARN)}
	if o.Rate > 0 {
		in.MaxNumberOfMessagesPerSecond = aws.Int32(int32(o.Rate))
	}
	// One try: an endpoint without the operation answers the same each time.
	out, err := q.c.StartMessageMoveTask(ctx, in, func(so *sqs.Options) { so.RetryMaxAttempts = 1 })
	if err != nil {
		if unsupported(err) {
			return &unsupportedError{err: err}
		}
		return fmt.Errorf("dlq: start a move task from %s: %w", q.url, err)
	}
	res.TaskHandle = aws.ToString(out.TaskHandle)
	total := len(p.Messages)
	for {
		lt, err := q.c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN), MaxResults: aws.Int32(1)})
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("dlq: check move task %s: %w", res.TaskHandle, err)
		}
		if err == nil && len(lt.Results) > 0 && ours(lt.Results[0], before, res.TaskHandle) {
			t := lt.Results[0] // the newest; only one task runs per queue
			res.Moved = int(t.ApproximateNumberOfMessagesMoved)
			if t.ApproximateNumberOfMessagesToMove != nil {
				total = int(*t.ApproximateNumberOfMessagesToMove)
			}
			if o.Progress != nil {
				o.Progress(Progress{Done: res.Moved, Total: total})
			}
			switch aws.ToString(t.Status) {
			case "COMPLETED":
				return nil
			case "FAILED":
				return fmt.Errorf("dlq: move task failed after %d messages: %s", res.Moved, aws.ToString(t.FailureReason))
			case "CANCELLED":
				return fmt.Errorf("dlq: move task was cancelled after %d messages", res.Moved)
			}
		}
		if err := q.sleep(ctx, q.poll); err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if c, cerr := q.c.CancelMessageMoveTask(cctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String(res.TaskHandle)}); cerr == nil {
				res.Moved = int(c.ApproximateNumberOfMessagesMoved)
				return fmt.Errorf("dlq: interrupted; move task cancelled after %d messages: %w", res.Moved, err)
			}
			return fmt.Errorf("dlq: interrupted; move task %s may still be running: %w", res.TaskHandle, err)
		}
	}
}

// ours reports whether the newest listed task is the one just started:
// it carries our handle (SQS shows handles of running tasks), or it is not
// the task that was newest before the start.
func ours(t sqstypes.ListMessageMoveTasksResultEntry, before *sqstypes.ListMessageMoveTasksResultEntry, handle string) bool {
	if h := aws.ToString(t.TaskHandle); h != "" {
		return h == handle
	}
	return before == nil || t.StartedTimestamp != before.StartedTimestamp
}

// sendDelete moves the planned messages one at a time, at most o.Rate a
// second: send to the source, then delete from the DLQ. It stops at the
// first failure; the message that failed stays in the DLQ.
func (q *Queue) sendDelete(ctx context.Context, p *Plan, o ReplayOptions, res *ReplayResult) error {
	want := make(map[string]bool, len(p.Messages))
	for _, m := range p.Messages {
		want[m.SQSID] = true
	}
	total := len(p.Messages)
	// Messages the plan leaves are held for the whole run, so the read
	// does not meet them again: allow for the rate.
	hold := q.hold
	if o.Rate > 0 {
		hold += time.Duration(float64(total) / o.Rate * float64(time.Second))
	}
	pace := pacer{rate: o.Rate, now: q.now, sleep: q.sleep}
	tell := func() {
		if o.Progress != nil {
			o.Progress(Progress{Done: res.Moved + res.Skipped - p.Expired, Total: total})
		}
	}
	err := q.scan(ctx, hold, func(m *Message) (bool, bool, error) {
		if !want[m.SQSID] {
			return false, false, nil
		}
		delete(want, m.SQSID)
		last := len(want) == 0
		if m.Expired && !o.IncludeExpired { // expired since the plan
			res.Skipped++
			tell()
			return false, last, nil
		}
		if err := pace.wait(ctx); err != nil {
			return false, true, fmt.Errorf("dlq: interrupted after %d messages: %w", res.Moved, err)
		}
		if err := q.move(ctx, m, p.Source); err != nil {
			return false, true, err
		}
		res.Moved++
		tell()
		return true, last, nil
	})
	res.NotFound = len(want)
	return err
}

// move sends m to the source queue, then deletes it from the DLQ.
func (q *Queue) move(ctx context.Context, m *Message, source string) error {
	var attrs map[string]sqstypes.MessageAttributeValue
	for name, v := range m.attrs {
		if envelope.DeadLetterOnly(name) {
			continue
		}
		if attrs == nil {
			attrs = map[string]sqstypes.MessageAttributeValue{}
		}
		attrs[name] = v
	}
	if _, err := q.c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(source), MessageBody: aws.String(m.body), MessageAttributes: attrs}); err != nil {
		return fmt.Errorf("dlq: send %s to %s (it stays in the DLQ): %w", m.SQSID, source, err)
	}
	// Sent: finish the move even if interrupted now, or the copy stays in both.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := q.c.DeleteMessage(dctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(m.receipt)}); err != nil {
		return fmt.Errorf("dlq: %s was sent to the source queue but not deleted from the DLQ, so it is in both "+
			"(dispatch's dedup key makes the copy harmless); run the replay again: %w", m.SQSID, err)
	}
	return nil
}

// pacer spaces sends rate a second apart, counting from the first, so a
// slow call is caught up rather than added to every gap.
type pacer struct {
	rate  float64
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	start time.Time
	n     int
}

func (p *pacer) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.rate <= 0 {
		return nil
	}
	if p.n == 0 {
		p.start = p.now()
		p.n++
		return nil
	}
	next := p.start.Add(time.Duration(float64(p.n) / p.rate * float64(time.Second)))
	p.n++
	if d := next.Sub(p.now()); d > 0 {
		return p.sleep(ctx, d)
	}
	return nil
}
