package dlq_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/internal/ops/dlq"
	"github.com/cogmail/cogmail/internal/testkit/dlqtest"
)

var allLabels = []string{"signup-permanent", "forgot-exhausted", "signup-expired", "resend-redriven", "auth-redriven-expired", "malformed"}

func without(all []string, drop ...string) []string {
	var out []string
	for _, l := range all {
		if !slices.Contains(drop, l) {
			out = append(out, l)
		}
	}
	return sorted(out...)
}

func TestReplay(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		o       dlq.ReplayOptions
		moved   []string
		skipped int
		method  dlq.Method
	}{
		{"trigger", dlq.ReplayOptions{Filter: dlq.Filter{Trigger: "SignUp"}}, []string{"signup-permanent"}, 1, dlq.SendDelete},
		{"reason", dlq.ReplayOptions{Filter: dlq.Filter{Reason: "retries-exhausted"}}, []string{"forgot-exhausted", "resend-redriven"}, 1, dlq.SendDelete},
		{"older than", dlq.ReplayOptions{Filter: dlq.Filter{OlderThan: 24 * time.Hour}}, []string{"forgot-exhausted"}, 1, dlq.SendDelete},
		{"newer than", dlq.ReplayOptions{Filter: dlq.Filter{NewerThan: time.Hour}}, []string{"resend-redriven", "malformed"}, 0, dlq.SendDelete},
		{"user", dlq.ReplayOptions{Filter: dlq.Filter{User: dlqtest.SecretAddress}}, []string{"signup-permanent"}, 0, dlq.SendDelete},
		{"limit takes the oldest live one", dlq.ReplayOptions{Filter: dlq.Filter{Limit: 1}}, []string{"forgot-exhausted"}, 2, dlq.SendDelete},
		{"filter and expired", dlq.ReplayOptions{Filter: dlq.Filter{Trigger: "SignUp"}, IncludeExpired: true}, []string{"signup-permanent", "signup-expired"}, 0, dlq.SendDelete},
		{"no filter, expired stay", dlq.ReplayOptions{}, without(allLabels, "signup-expired", "auth-redriven-expired"), 2, dlq.SendDelete},
		{"rate a move task cannot take", dlq.ReplayOptions{IncludeExpired: true, Rate: 0.5}, allLabels, 0, dlq.SendDelete},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					s := seed(t, b)
					// No real waiting for the rate: these cases check what moves.
					q := s.queue(t, dlq.Options{Sleep: func(context.Context, time.Duration) error { return nil }})
					res, err := q.Replay(context.Background(), tc.o)
					if err != nil {
						t.Fatal(err)
					}
					if res.Method != tc.method || res.Plan.Method != tc.method {
						t.Errorf("method = %s (plan %s), want %s", res.Method, res.Plan.Method, tc.method)
					}
					if res.Moved != len(tc.moved) || res.Skipped != tc.skipped || res.NotFound != 0 {
						t.Errorf("moved %d, skipped %d, not found %d; want %d, %d, 0", res.Moved, res.Skipped, res.NotFound, len(tc.moved), tc.skipped)
					}
					src := s.Drain(t, s.Source)
					if got, want := s.labelsOf(src), sorted(tc.moved...); !slices.Equal(got, want) {
						t.Errorf("source has %v, want %v", got, want)
					}
					if got, want := s.labelsOf(s.Drain(t, s.DLQ)), without(allLabels, tc.moved...); !slices.Equal(got, want) {
						t.Errorf("DLQ kept %v, want %v", got, want)
					}
					for _, r := range src {
						for name := range r.Attributes {
							if strings.HasPrefix(name, "cogmail.reason") || strings.HasPrefix(name, "cogmail.lastError") || name == "cogmail.attempts" {
								t.Errorf("replayed message kept the DLQ attribute %s", name)
							}
						}
						if r.Envelope != nil && r.Attributes["cogmail.trigger"] != string(r.Envelope.Trigger) {
							t.Errorf("replayed message lost its trigger attribute: %v", r.Attributes)
						}
					}
					b, _ := json.Marshal(res)
					dlqtest.CheckNoSecrets(t, "replay result", string(b))
				})
			}
		})
	}
}

// With nothing filtered out, sqslocal moves the messages with a move task.
func TestReplayMoveTask(t *testing.T) {
	t.Parallel()
	s := seed(t, backends[0])
	var seen []dlq.Progress
	res, err := s.queue(t, dlq.Options{}).Replay(context.Background(), dlq.ReplayOptions{
		IncludeExpired: true,
		Progress:       func(p dlq.Progress) { seen = append(seen, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Method != dlq.MoveTask || res.TaskHandle == "" || res.Note != "" || res.Moved != 6 {
		t.Errorf("result = %+v", res)
	}
	if len(seen) == 0 || seen[len(seen)-1] != (dlq.Progress{Done: 6, Total: 6}) {
		t.Errorf("progress = %v", seen)
	}
	if got := s.labelsOf(s.Drain(t, s.Source)); !slices.Equal(got, sorted(allLabels...)) {
		t.Errorf("source has %v", got)
	}
	if v, inFlight := s.Count(t, s.DLQ); v+inFlight != 0 {
		t.Errorf("DLQ still has %d+%d", v, inFlight)
	}
}

// A whole rate goes to the move task, which paces itself.
func TestReplayMoveTaskRate(t *testing.T) {
	t.Parallel()
	c, _ := dlqtest.SQSLocal(t)
	f := dlqtest.New(t, c, time.Now())
	f.Add(t, dlqtest.Message{Reason: "permanent"})
	f.Add(t, dlqtest.Message{Reason: "permanent"})
	q, err := dlq.New(dlq.Options{Client: c, QueueURL: f.DLQ, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res, err := q.Replay(context.Background(), dlq.ReplayOptions{Rate: 20})
	if err != nil {
		t.Fatal(err)
	}
	if res.Method != dlq.MoveTask || res.Moved != 2 {
		t.Errorf("result = %+v", res)
	}
	arn, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(f.DLQ), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := c.ListMessageMoveTasks(context.Background(), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(arn.Attributes["QueueArn"])})
	if err != nil || len(tasks.Results) != 1 || aws.ToInt32(tasks.Results[0].MaxNumberOfMessagesPerSecond) != 20 {
		t.Errorf("move task = %+v, %v; want one at 20 messages a second", tasks, err)
	}
}

// staleList lists, for a while after a start, only the task that was
// newest before it, as SQS's eventually consistent listing may.
type staleList struct {
	*sqs.Client
	stale   *sqs.ListMessageMoveTasksOutput
	started bool
	lies    int
}

func (s *staleList) StartMessageMoveTask(ctx context.Context, in *sqs.StartMessageMoveTaskInput, o ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error) {
	s.started = true
	return s.Client.StartMessageMoveTask(ctx, in, o...)
}

func (s *staleList) ListMessageMoveTasks(ctx context.Context, in *sqs.ListMessageMoveTasksInput, o ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error) {
	out, err := s.Client.ListMessageMoveTasks(ctx, in, o...)
	if !s.started {
		s.stale = out
		return out, err
	}
	if s.lies > 0 {
		s.lies--
		return s.stale, nil
	}
	return out, err
}

// A replay reports its own move task, not the one before it.
func TestReplayMoveTaskListedLate(t *testing.T) {
	t.Parallel()
	c, _ := dlqtest.SQSLocal(t)
	f := dlqtest.New(t, c, time.Now())
	noWait := func(context.Context, time.Duration) error { return nil }
	for _, n := range []int{3, 2} {
		for range n {
			f.Add(t, dlqtest.Message{Reason: "permanent"})
		}
		client := &staleList{Client: c, lies: 2}
		q, err := dlq.New(dlq.Options{Client: client, QueueURL: f.DLQ, Sleep: noWait})
		if err != nil {
			t.Fatal(err)
		}
		res, err := q.Replay(context.Background(), dlq.ReplayOptions{})
		if err != nil || res.Method != dlq.MoveTask || res.Moved != n {
			t.Errorf("replay of %d: %+v, %v", n, res, err)
		}
		if client.lies != 0 {
			t.Errorf("the listing was read %d times fewer than the stale answers", client.lies)
		}
	}
}

// moto has no StartMessageMoveTask (HTTP 500): the replay falls back to
// send-then-delete and says so.
func TestReplayFallback(t *testing.T) {
	t.Parallel()
	s := seed(t, backends[1])
	res, err := s.queue(t, dlq.Options{}).Replay(context.Background(), dlq.ReplayOptions{IncludeExpired: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plan.Method != dlq.MoveTask || res.Method != dlq.SendDelete || !strings.Contains(res.Note, "StartMessageMoveTask") || res.Moved != 6 {
		t.Errorf("result = %+v", res)
	}
	if got := s.labelsOf(s.Drain(t, s.Source)); !slices.Equal(got, sorted(allLabels...)) {
		t.Errorf("source has %v", got)
	}
	if v, inFlight := s.Count(t, s.DLQ); v+inFlight != 0 {
		t.Errorf("DLQ still has %d+%d", v, inFlight)
	}
}

func TestReplayChangesNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		o    dlq.ReplayOptions
		err  error
	}{
		{"dry run with a filter", dlq.ReplayOptions{DryRun: true, Filter: dlq.Filter{Trigger: "SignUp"}}, nil},
		{"dry run of a move task", dlq.ReplayOptions{DryRun: true, IncludeExpired: true}, nil},
		{"declined", dlq.ReplayOptions{Confirm: func(*dlq.Plan) bool { return false }}, dlq.ErrAborted},
		{"nothing selected", dlq.ReplayOptions{Filter: dlq.Filter{Reason: "no-such-reason"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := seed(t, backends[0])
			res, err := s.queue(t, dlq.Options{}).Replay(context.Background(), tc.o)
			if !errors.Is(err, tc.err) || res == nil || res.Moved != 0 {
				t.Fatalf("Replay = %+v, %v; want nothing moved and %v", res, err, tc.err)
			}
			if v, inFlight := s.Count(t, s.DLQ); v != 6 || inFlight != 0 {
				t.Errorf("DLQ: %d visible, %d in flight; want all 6 visible", v, inFlight)
			}
			if v, inFlight := s.Count(t, s.Source); v+inFlight != 0 {
				t.Errorf("source got %d messages", v+inFlight)
			}
		})
	}
}

func TestReplayPlan(t *testing.T) {
	t.Parallel()
	s := seed(t, backends[0])
	res, err := s.queue(t, dlq.Options{}).Replay(context.Background(), dlq.ReplayOptions{DryRun: true, Filter: dlq.Filter{Trigger: "SignUp"}})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Plan
	if p.Source != s.Source || p.Queue != s.DLQ || p.Method != dlq.SendDelete || p.Why == "" || p.Expired != 1 || p.Unselected != 4 {
		t.Errorf("plan = %+v", p)
	}
	if got := s.labels(p.Messages); !slices.Equal(got, []string{"signup-permanent"}) {
		t.Errorf("plan moves %v", got)
	}
}

// fakeClock advances only when the replay sleeps.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return nil
}

func TestReplayRate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		rate float64
		want []time.Duration
	}{
		{"2 a second", 2, []time.Duration{500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}},
		{"one every 4 s", 0.25, []time.Duration{4 * time.Second, 4 * time.Second, 4 * time.Second}},
		{"unlimited", 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := dlqtest.SQSLocal(t)
			clock := &fakeClock{t: time.Now().UTC()}
			f := dlqtest.New(t, c, clock.t)
			for range 4 {
				f.Add(t, dlqtest.Message{Reason: "permanent"})
			}
			q, err := dlq.New(dlq.Options{Client: c, QueueURL: f.DLQ, Now: clock.now, Sleep: clock.sleep})
			if err != nil {
				t.Fatal(err)
			}
			res, err := q.Replay(context.Background(), dlq.ReplayOptions{Filter: dlq.Filter{Reason: "permanent"}, Rate: tc.rate})
			if err != nil || res.Moved != 4 {
				t.Fatalf("Replay = %+v, %v", res, err)
			}
			if !slices.Equal(clock.sleeps, tc.want) {
				t.Errorf("slept %v, want %v", clock.sleeps, tc.want)
			}
		})
	}
}

// failingDelete is a crash between the send and the delete.
type failingDelete struct {
	*sqs.Client
}

func (failingDelete) DeleteMessage(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	return nil, errors.New("injected: the process died before the delete")
}

func TestReplayCrashSafety(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			c, _ := b.client(t)
			f := dlqtest.New(t, c, time.Now().UTC())
			old := f.Add(t, dlqtest.Message{Reason: "permanent", Age: 2 * time.Hour})
			young := f.Add(t, dlqtest.Message{Reason: "permanent", Age: time.Hour})
			opts := dlq.ReplayOptions{Filter: dlq.Filter{Reason: "permanent"}}

			q, err := dlq.New(dlq.Options{Client: failingDelete{c}, QueueURL: f.DLQ})
			if err != nil {
				t.Fatal(err)
			}
			res, err := q.Replay(context.Background(), opts)
			if err == nil || !strings.Contains(err.Error(), "not deleted") || res.Moved != 0 {
				t.Fatalf("Replay = %+v, %v; want the injected failure", res, err)
			}
			// Nothing lost: the first message is in both queues, the other still in the DLQ.
			if v, inFlight := f.Count(t, f.DLQ); v != 2 || inFlight != 0 {
				t.Errorf("DLQ: %d visible, %d in flight; want both visible", v, inFlight)
			}
			if got := dlqtest.IDs(f.Drain(t, f.Source)); !slices.Equal(got, []string{old}) {
				t.Errorf("source has %v, want the oldest message %s", got, old)
			}

			// Run again with a working client: it completes.
			q, err = dlq.New(dlq.Options{Client: c, QueueURL: f.DLQ})
			if err != nil {
				t.Fatal(err)
			}
			res, err = q.Replay(context.Background(), opts)
			if err != nil || res.Moved != 2 {
				t.Fatalf("second Replay = %+v, %v", res, err)
			}
			if got := dlqtest.IDs(f.Drain(t, f.Source)); !slices.Equal(sorted(got...), sorted(old, young)) {
				t.Errorf("source has %v, want %s and %s", got, old, young)
			}
			if v, inFlight := f.Count(t, f.DLQ); v+inFlight != 0 {
				t.Errorf("DLQ still has %d+%d", v, inFlight)
			}
		})
	}
}

// An interrupted replay leaves nothing hidden: what it read is visible again.
func TestReplayInterrupted(t *testing.T) {
	t.Parallel()
	c, _ := dlqtest.SQSLocal(t)
	f := dlqtest.New(t, c, time.Now().UTC())
	for range 3 {
		f.Add(t, dlqtest.Message{Reason: "permanent"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q, err := dlq.New(dlq.Options{Client: c, QueueURL: f.DLQ, Sleep: func(ctx context.Context, _ time.Duration) error {
		cancel() // Ctrl-C while waiting for the rate
		return ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := q.Replay(ctx, dlq.ReplayOptions{Filter: dlq.Filter{Reason: "permanent"}, Rate: 1})
	if !errors.Is(err, context.Canceled) || res.Moved != 1 {
		t.Fatalf("Replay = %+v, %v; want one moved, then interrupted", res, err)
	}
	if v, inFlight := f.Count(t, f.DLQ); v != 2 || inFlight != 0 {
		t.Errorf("DLQ: %d visible, %d in flight; want the other 2 visible", v, inFlight)
	}
}

func TestReplaySource(t *testing.T) {
	t.Parallel()
	c, _ := dlqtest.SQSLocal(t)
	f := dlqtest.New(t, c, time.Now().UTC())
	f.Add(t, dlqtest.Message{Reason: "permanent"})
	other, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("elsewhere")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := dlq.New(dlq.Options{Client: c, QueueURL: f.DLQ})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, source, err string
	}{
		{"the DLQ itself", f.DLQ, "dead-letter queue itself"},
		{"a given queue", aws.ToString(other.QueueUrl), ""},
	}
	for _, tc := range cases {
		res, err := q.Replay(context.Background(), dlq.ReplayOptions{Source: tc.source, DryRun: true})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || res.Plan.Source != tc.source {
			t.Errorf("%s: %+v, %v", tc.name, res, err)
		}
	}
	// A DLQ no queue redrives to has no source to find.
	lone, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("lone")})
	if err != nil {
		t.Fatal(err)
	}
	q, _ = dlq.New(dlq.Options{Client: c, QueueURL: aws.ToString(lone.QueueUrl)})
	if _, err := q.Replay(context.Background(), dlq.ReplayOptions{}); err == nil || !strings.Contains(err.Error(), "give the source queue") {
		t.Errorf("lone DLQ: %v", err)
	}
}
