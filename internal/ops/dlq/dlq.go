// Package dlq inspects and replays cogmail's dead-letter queue: counts and
// breakdowns, listing with filters, one message's clear metadata, replay to
// the source queue (SQS's StartMessageMoveTask, or send-then-delete so that
// nothing is lost), and purge. It never opens a sealed payload.
//
// Reading a queue means receiving its messages: each read holds the
// messages it receives (visibility timeout Options.Hold), so one pass sees
// each message once, then makes them visible again. Every read adds one to
// a message's receive count; on a DLQ, which has no redrive policy of its
// own, that count has no effect (and a message replayed to the source
// queue starts there with a fresh count). If the process dies mid-read, the
// messages it held become visible again when the hold ends.
package dlq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/pkg/queue"
)

// Client is the part of the SQS client the DLQ tools use; *sqs.Client
// satisfies it.
type Client interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ListDeadLetterSourceQueues(ctx context.Context, in *sqs.ListDeadLetterSourceQueuesInput, optFns ...func(*sqs.Options)) (*sqs.ListDeadLetterSourceQueuesOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	PurgeQueue(ctx context.Context, in *sqs.PurgeQueueInput, optFns ...func(*sqs.Options)) (*sqs.PurgeQueueOutput, error)
	StartMessageMoveTask(ctx context.Context, in *sqs.StartMessageMoveTaskInput, optFns ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error)
	ListMessageMoveTasks(ctx context.Context, in *sqs.ListMessageMoveTasksInput, optFns ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error)
	CancelMessageMoveTask(ctx context.Context, in *sqs.CancelMessageMoveTaskInput, optFns ...func(*sqs.Options)) (*sqs.CancelMessageMoveTaskOutput, error)
}

// Options configures a Queue. Zero values mean the documented defaults.
type Options struct {
	Client   Client
	QueueURL string // the dead-letter queue (required)

	// Hold is how long a read keeps the messages it received hidden
	// (default 2m); they are made visible again when the read ends, or by
	// SQS when Hold passes if the process died.
	Hold time.Duration
	// Wait is the long-poll wait of each receive (default 1s, whole
	// seconds): a long poll asks every SQS server, so an empty answer means
	// there is nothing left to read rather than "this server had nothing".
	Wait time.Duration
	// PollInterval is how often a running move task is checked (default 2s).
	PollInterval time.Duration
	// Now is the clock for ages and expiry (default time.Now).
	Now func() time.Time
	// Sleep waits for the replay rate and between move-task checks
	// (default: a timer that ends early when ctx is done).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Queue is one dead-letter queue.
type Queue struct {
	c     Client
	url   string
	hold  time.Duration
	wait  int32
	poll  time.Duration
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// New checks the options and returns a Queue. It makes no call.
func New(o Options) (*Queue, error) {
	var errs []error
	if o.Client == nil {
		errs = append(errs, errors.New("dlq: an SQS client is required"))
	}
	if o.QueueURL == "" {
		errs = append(errs, errors.New("dlq: the dead-letter queue URL is required"))
	}
	if o.Hold < 0 || o.Hold > queue.MaxVisibility || o.Wait < 0 || o.Wait > 20*time.Second || o.PollInterval < 0 {
		errs = append(errs, errors.New("dlq: Hold must be within 12h, Wait within 20s, PollInterval not negative"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	q := &Queue{c: o.Client, url: o.QueueURL, hold: o.Hold, wait: int32(o.Wait / time.Second),
		poll: o.PollInterval, now: o.Now, sleep: o.Sleep}
	if q.hold == 0 {
		q.hold = 2 * time.Minute
	}
	if o.Wait == 0 {
		q.wait = 1
	}
	if q.poll == 0 {
		q.poll = 2 * time.Second
	}
	if q.now == nil {
		q.now = time.Now
	}
	if q.sleep == nil {
		q.sleep = sleep
	}
	return q, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// URL is the dead-letter queue's URL.
func (q *Queue) URL() string { return q.url }

// Counts are SQS's approximate message counts of a queue.
type Counts struct {
	Visible  int `json:"visible"`
	InFlight int `json:"inFlight"`
	Delayed  int `json:"delayed"`
}

// Counts returns the queue's counts without receiving anything.
func (q *Queue) Counts(ctx context.Context) (Counts, error) {
	out, err := q.c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		}})
	if err != nil {
		return Counts{}, fmt.Errorf("dlq: counts of %s: %w", q.url, err)
	}
	n := func(a sqstypes.QueueAttributeName) int {
		v, _ := strconv.Atoi(out.Attributes[string(a)])
		return v
	}
	return Counts{
		Visible:  n(sqstypes.QueueAttributeNameApproximateNumberOfMessages),
		InFlight: n(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible),
		Delayed:  n(sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed),
	}, nil
}

// Stats is a DLQ's counts and what its visible messages are.
type Stats struct {
	Queue string `json:"queue"`
	Counts
	Scanned          int            `json:"scanned"` // visible messages read for the breakdowns
	Expired          int            `json:"expired"` // of those, past their code's expiry
	OldestAgeSeconds int64          `json:"oldestAgeSeconds"`
	OldestID         string         `json:"oldestSqsMessageId,omitempty"`
	OldestAge        time.Duration  `json:"-"`
	ByReason         map[string]int `json:"byReason"`
	ByTrigger        map[string]int `json:"byTrigger"`
}

// Stats reads the counts, then every visible message for the breakdowns.
// Messages in flight (held by another reader) are counted but not read.
func (q *Queue) Stats(ctx context.Context) (*Stats, error) {
	c, err := q.Counts(ctx)
	if err != nil {
		return nil, err
	}
	s := &Stats{Queue: q.url, Counts: c, ByReason: map[string]int{}, ByTrigger: map[string]int{}}
	err = q.scan(ctx, q.hold, func(m *Message) (bool, bool, error) {
		s.Scanned++
		if m.Expired {
			s.Expired++
		}
		if s.OldestID == "" || m.Age > s.OldestAge {
			s.OldestAge, s.OldestID = m.Age, m.SQSID
		}
		s.ByReason[m.Reason]++
		s.ByTrigger[cmp(m.Trigger, "unknown")]++
		return false, false, nil
	})
	s.OldestAgeSeconds = int64(s.OldestAge / time.Second)
	return s, err
}

func cmp(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// List returns the visible messages that f selects, oldest first. Limit
// applies after sorting, so it gives the oldest ones (every message is read).
func (q *Queue) List(ctx context.Context, f Filter) ([]Message, error) {
	var out []Message
	err := q.scan(ctx, q.hold, func(m *Message) (bool, bool, error) {
		if f.Match(m) {
			out = append(out, *m)
		}
		return false, false, nil
	})
	sortOldest(out)
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, err
}

// ErrNotFound is returned by Find when no visible message has the id.
var ErrNotFound = errors.New("dlq: no visible message has that id")

// ErrAmbiguous is returned by Find when a prefix matches several messages.
var ErrAmbiguous = errors.New("dlq: several messages match that id prefix; give more of it")

// Find returns the message whose cogmail id or SQS message id is id, or
// starts with it (at least 6 characters).
func (q *Queue) Find(ctx context.Context, id string) (*Message, error) {
	id = strings.TrimSpace(id)
	if len(id) < 6 {
		return nil, fmt.Errorf("dlq: id %q is too short: give at least 6 characters", id)
	}
	var found []Message
	err := q.scan(ctx, q.hold, func(m *Message) (bool, bool, error) {
		if m.ID == id || m.SQSID == id {
			found = []Message{*m}
			return false, true, nil // exact: stop reading
		}
		if strings.HasPrefix(m.ID, id) || strings.HasPrefix(m.SQSID, id) {
			found = append(found, *m)
		}
		return false, false, nil
	})
	if err != nil {
		return nil, err
	}
	switch len(found) {
	case 0:
		return nil, ErrNotFound
	case 1:
		return &found[0], nil
	}
	return nil, ErrAmbiguous
}

// Purge deletes every message in the queue (SQS may take up to 60 s, and
// allows one purge per queue every 60 s).
func (q *Queue) Purge(ctx context.Context) error {
	if _, err := q.c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(q.url)}); err != nil {
		return fmt.Errorf("dlq: purge %s: %w", q.url, err)
	}
	return nil
}

// SourceURL finds the queue that uses this one as its dead-letter queue.
func (q *Queue) SourceURL(ctx context.Context) (string, error) {
	out, err := q.c.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(q.url)})
	if err != nil {
		return "", fmt.Errorf("dlq: find the source queue of %s: %w", q.url, err)
	}
	switch len(out.QueueUrls) {
	case 0:
		return "", fmt.Errorf("dlq: no queue has %s as its dead-letter queue; give the source queue's URL", q.url)
	case 1:
		return out.QueueUrls[0], nil
	}
	return "", fmt.Errorf("dlq: %d queues use %s as their dead-letter queue (%s); give the source queue's URL",
		len(out.QueueUrls), q.url, strings.Join(out.QueueUrls, ", "))
}

func (q *Queue) arn(ctx context.Context, url string) (string, error) {
	out, err := q.c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", fmt.Errorf("dlq: ARN of %s: %w", url, err)
	}
	arn := out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", fmt.Errorf("dlq: %s has no QueueArn attribute", url)
	}
	return arn, nil
}

// visit sees one message during a scan. It returns consumed when it has
// deleted the message (so the scan must not release it), stop to end the
// scan early, or an error, which ends the scan too.
type visit func(m *Message) (consumed, stop bool, err error)

// scan receives every visible message once, holding each for hold, and
// calls fn with it. The messages fn did not consume are made visible again
// when the scan ends, whatever ends it: so one scan sees each message once
// (a held message is not received again), and the next reader sees them all.
func (q *Queue) scan(ctx context.Context, hold time.Duration, fn visit) (err error) {
	held := map[string]string{} // SQS id -> latest receipt handle, for the release
	seen := map[string]bool{}
	defer func() {
		if rerr := q.release(ctx, held); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	vis := int32(min(max(hold, time.Second), queue.MaxVisibility) / time.Second)
	for {
		out, err := q.c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(q.url),
			MaxNumberOfMessages:         10,
			VisibilityTimeout:           vis,
			WaitTimeSeconds:             q.wait,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return fmt.Errorf("dlq: receive from %s: %w", q.url, err)
		}
		var fresh []sqstypes.Message
		for _, raw := range out.Messages {
			// Every receipt is kept for the release, a message seen before
			// included (it came round again: the hold ran out, or SQS
			// delivered a second copy): it is not visited twice.
			id := aws.ToString(raw.MessageId)
			held[id] = aws.ToString(raw.ReceiptHandle)
			if !seen[id] {
				seen[id] = true
				fresh = append(fresh, raw)
			}
		}
		// Nothing new: the queue has been read (or the hold ran out and
		// what we saw came round again).
		if len(fresh) == 0 {
			return nil
		}
		for _, raw := range fresh {
			m := decode(raw, q.now())
			consumed, stop, err := fn(&m)
			if consumed {
				delete(held, m.SQSID)
			}
			if err != nil || stop {
				return err
			}
		}
	}
}

// release makes held messages visible again. It runs even when ctx is done
// (an interrupted read must not leave messages hidden for the whole hold).
func (q *Queue) release(ctx context.Context, held map[string]string) error {
	if len(held) == 0 {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var entries []sqstypes.ChangeMessageVisibilityBatchRequestEntry
	failed := 0
	var last error
	flush := func() {
		if len(entries) == 0 {
			return
		}
		out, err := q.c.ChangeMessageVisibilityBatch(rctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		switch {
		case err != nil:
			failed += len(entries)
			last = err
		case len(out.Failed) > 0:
			failed += len(out.Failed)
			last = fmt.Errorf("%s: %s", aws.ToString(out.Failed[0].Code), aws.ToString(out.Failed[0].Message))
		}
		entries = entries[:0]
	}
	for _, receipt := range held {
		entries = append(entries, sqstypes.ChangeMessageVisibilityBatchRequestEntry{
			Id: aws.String("m" + strconv.Itoa(len(entries))), ReceiptHandle: aws.String(receipt), VisibilityTimeout: 0})
		if len(entries) == 10 {
			flush()
		}
	}
	flush()
	if failed > 0 {
		return fmt.Errorf("dlq: %d messages read could not be made visible again; SQS shows them again after the %s hold: %w", failed, q.hold, last)
	}
	return nil
}
