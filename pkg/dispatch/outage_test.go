package dispatch_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/dispatch/breaker"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/routing"
)

// outage is a provider that is unavailable until the clock reaches back.
type outage struct {
	name  string
	clock *clock
	back  time.Time

	mu    sync.Mutex
	sent  map[string]time.Time // message id → when it was accepted
	calls int
}

func (d *outage) Name() string { return d.name }

func (d *outage) Send(_ context.Context, m provider.Message) (provider.Receipt, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if now := d.clock.Now(); now.Before(d.back) {
		return provider.Receipt{}, unavailable(d.name)
	} else if d.sent == nil {
		d.sent = map[string]time.Time{}
	} else if _, dup := d.sent[m.ID]; dup {
		return provider.Receipt{}, fmt.Errorf("%s: message %s sent twice", d.name, m.ID)
	}
	d.sent[m.ID] = d.clock.Now()
	return provider.Receipt{Provider: d.name, ID: m.ID}, nil
}

// simQueue is an SQS queue on the fixture's clock: visibility, receive
// counts, receipt handles, the batch visibility call and the DLQ.
type simQueue struct {
	clock *clock

	mu      sync.Mutex
	msgs    map[string]*simMessage // by SQS message id
	handles map[string]string      // receipt handle → message id
	dlq     []*sqs.SendMessageInput
	n       int
}

type simMessage struct {
	rec       events.SQSMessage
	visibleAt time.Time
	receives  int
	first     time.Time
}

func newSimQueue(c *clock) *simQueue {
	return &simQueue{clock: c, msgs: map[string]*simMessage{}, handles: map[string]string{}}
}

func (q *simQueue) put(rec events.SQSMessage) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs[rec.MessageId] = &simMessage{rec: rec, visibleAt: q.clock.Now()}
}

// receive takes up to 10 visible messages, as the event source mapping
// does, each hidden for the queue's 190 s visibility timeout.
func (q *simQueue) receive() []events.SQSMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	var ids []string
	for id, m := range q.msgs {
		if !m.visibleAt.After(now) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int { return q.msgs[a].visibleAt.Compare(q.msgs[b].visibleAt) })
	var out []events.SQSMessage
	for _, id := range ids[:min(len(ids), 10)] {
		m := q.msgs[id]
		m.receives++
		if m.receives == 1 {
			m.first = now
		}
		m.visibleAt = now.Add(190 * time.Second)
		q.n++
		handle := "h" + strconv.Itoa(q.n)
		q.handles[handle] = id
		r := m.rec
		r.ReceiptHandle = handle
		r.Attributes = map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(m.receives),
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(m.first.UnixMilli(), 10),
		}
		out = append(out, r)
	}
	return out
}

// next is when the next message becomes visible (zero when none is left).
func (q *simQueue) next() time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	var at time.Time
	for _, m := range q.msgs {
		if at.IsZero() || m.visibleAt.Before(at) {
			at = m.visibleAt
		}
	}
	return at
}

func (q *simQueue) delete(id string) { q.mu.Lock(); defer q.mu.Unlock(); delete(q.msgs, id) }

func (q *simQueue) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.dlq = append(q.dlq, in)
	return &sqs.SendMessageOutput{MessageId: aws.String(fmt.Sprint("dlq-", len(q.dlq)))}, nil
}

func (q *simQueue) change(handle string, seconds int32) error {
	id, ok := q.handles[handle]
	m := q.msgs[id]
	if !ok || m == nil || m.rec.MessageId != id {
		return fmt.Errorf("ReceiptHandleIsInvalid: %s", handle)
	}
	m.visibleAt = q.clock.Now().Add(time.Duration(seconds) * time.Second)
	return nil
}

func (q *simQueue) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return &sqs.ChangeMessageVisibilityOutput{}, q.change(aws.ToString(in.ReceiptHandle), in.VisibilityTimeout)
}

func (q *simQueue) ChangeMessageVisibilityBatch(_ context.Context, in *sqs.ChangeMessageVisibilityBatchInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := &sqs.ChangeMessageVisibilityBatchOutput{}
	for _, e := range in.Entries {
		if err := q.change(aws.ToString(e.ReceiptHandle), e.VisibilityTimeout); err != nil {
			out.Failed = append(out.Failed, sqstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("ReceiptHandleIsInvalid")})
			continue
		}
		out.Successful = append(out.Successful, sqstypes.ChangeMessageVisibilityBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

// TestOutages runs held messages through outages of every provider on an
// injected clock, as SQS and the event source mapping would: a 5 s and a
// 200 s outage are absorbed (a ForgotPassword code lives an hour), an
// Authentication code (3 min) outlived by the outage is dead-lettered as
// expired with how long it waited, and a ForgotPassword code outlived by a
// 2 h outage too. Nothing is dead-lettered for running out of receives or
// breakers, no message is sent twice, and once the providers are back the
// held messages are out within about a minute (one breaker cooldown, when
// the first returning message probes, plus the recovery spread), though
// their own backoff had them hidden for minutes.
func TestOutages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		outage  time.Duration
		trigger cognito.Trigger
		life    time.Duration
		want    dispatch.Reason // "" for delivered
	}{
		{"5s, ForgotPassword", 5 * time.Second, cognito.ForgotPassword, time.Hour, ""},
		{"200s, ForgotPassword", 200 * time.Second, cognito.ForgotPassword, time.Hour, ""},
		{"30m, ForgotPassword", 30 * time.Minute, cognito.ForgotPassword, time.Hour, ""},
		{"200s, Authentication", 200 * time.Second, cognito.Authentication, 3 * time.Minute, envelope.ReasonExpired},
		{"2h, ForgotPassword", 2 * time.Hour, cognito.ForgotPassword, time.Hour, envelope.ReasonExpired},
		{"25h, SignUp", 25 * time.Hour, cognito.SignUp, 24 * time.Hour, envelope.ReasonExpired},
		{"25h, AdminCreateUser", 25 * time.Hour, cognito.AdminCreateUser, 7 * 24 * time.Hour, envelope.ReasonMaxAge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			messages := 50
			if tt.outage > 24*time.Hour {
				messages = 10 // 585 receives each: enough to show it, cheap to run
			}
			f := newFixture(t)
			start := f.clock.Now()
			back := start.Add(tt.outage)
			var senders []dispatch.Sender
			var providers []*outage
			for _, n := range []string{"sendgrid", "ses"} {
				d := &outage{name: n, clock: f.clock, back: back}
				providers = append(providers, d)
				senders = append(senders, d)
			}
			q := newSimQueue(f.clock)
			maxReceives := dispatch.Options{}.Schedule(dispatch.DefaultMaxAge).Receives + 100
			h := f.handler(func(d *dispatch.Deps, o *dispatch.Options) {
				d.Senders, d.DLQ, d.Visibility = senders, q, q
				d.Routes = routing.Static{Providers: []string{"sendgrid", "ses"}}
				o.Breaker = breaker.Options{} // the defaults: 5 failures, 30 s
				o.Concurrency = 1             // one clock: the calls must not overlap
				o.MaxReceives = maxReceives
				o.QueueURL = "https://sqs.us-east-1.amazonaws.com/111122223333/cogmail"
			})
			// The messages arrive over the outage's first 10 s.
			ids := map[string]string{} // SQS id → envelope id
			for i := range messages {
				rec, _ := f.message(func(e *envelope.Envelope, _ *envelope.Payload) {
					e.Trigger, e.ExpiresAt = tt.trigger, e.CreatedAt.Add(tt.life)
				})
				var env struct{ ID string }
				_ = json.Unmarshal([]byte(rec.Body), &env)
				ids[rec.MessageId] = env.ID
				q.put(rec)
				if i%5 == 4 {
					f.clock.Add(time.Second)
				}
			}
			ctx := context.Background()
			for steps := 0; ; steps++ {
				if steps > 100000 {
					t.Fatal("the simulation does not end")
				}
				recs := q.receive()
				if len(recs) == 0 {
					at := q.next()
					if at.IsZero() {
						break
					}
					f.clock.Add(at.Sub(f.clock.Now()))
					continue
				}
				resp, err := h.Handle(ctx, batch(recs...))
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range recs {
					if !slices.Contains(reported(resp), r.MessageId) {
						q.delete(r.MessageId)
					}
				}
			}

			sent := map[string]time.Time{}
			for _, p := range providers {
				for id, at := range p.sent {
					if _, dup := sent[id]; dup {
						t.Errorf("message %s sent by two providers", id)
					}
					sent[id] = at
				}
			}
			byReason := map[string]int{}
			for _, in := range q.dlq {
				r := aws.ToString(in.MessageAttributes[envelope.AttrReason].StringValue)
				byReason[r]++
				detail := aws.ToString(in.MessageAttributes[envelope.AttrError].StringValue)
				if r == string(envelope.ReasonExpired) && !strings.Contains(detail, "the outage lasted at least") {
					t.Errorf("an expired message does not say how long it waited: %q", detail)
				}
			}
			if tt.want == "" {
				if len(sent) != messages || len(q.dlq) != 0 {
					t.Fatalf("%d of %d delivered, dead-lettered %v", len(sent), messages, byReason)
				}
				var last time.Time
				for _, at := range sent {
					if at.After(last) {
						last = at
					}
				}
				// Simulated time: the last held message goes out within a
				// cooldown (30 s) and the recovery spread (30 s) of the
				// providers' return, plus a batch's bookkeeping. After a
				// long outage their own backoff is 150..300 s: the release
				// on the probe's success brings them back.
				if late := last.Sub(back); late > 90*time.Second {
					t.Errorf("the last held message went out %v after the providers came back", late)
				}
				if released := counts(f.emf.String())["Released"]; tt.outage > 10*time.Minute && released == 0 {
					t.Error("no held message was released when the providers came back")
				}
				t.Logf("outage %v: %d delivered, the last %v after the providers came back", tt.outage, len(sent), last.Sub(back))
				return
			}
			if len(sent) != 0 || byReason[string(tt.want)] != messages {
				t.Fatalf("delivered %d, dead-lettered %v; want all %d dead-lettered as %s", len(sent), byReason, messages, tt.want)
			}
			t.Logf("outage %v: dead-lettered %v", tt.outage, byReason)
		})
	}
}

// TestBreakersOpenWaitForTheProbe: a message that finds every breaker open
// is not brought back before the first breaker lets a probe through, and
// a burst of them comes back spread over RecoverySpread after it.
func TestBreakersOpenWaitForTheProbe(t *testing.T) {
	t.Parallel()
	a := newSender("a")
	a.final = unavailable("a")
	f := newFixture(t, a)
	h := f.handler(func(_ *dispatch.Deps, o *dispatch.Options) {
		o.Breaker = breaker.Options{Threshold: 1, Cooldown: 30 * time.Second}
	})
	ctx := context.Background()
	first, _ := f.message()
	_, _ = h.Handle(ctx, batch(first)) // opens the breaker
	f.clock.Add(10 * time.Second)      // 20 s of cooldown left
	for range 200 {
		rec, _ := f.message()
		_, _ = h.Handle(ctx, batch(rec))
	}
	vis := f.queue.Visibility()[1:]
	if a.Calls() != 1 {
		t.Fatalf("%d provider calls, want the one that opened the breaker", a.Calls())
	}
	buckets := map[int32]int{}
	for _, v := range vis {
		if v.VisibilityTimeout < 20 || v.VisibilityTimeout > 20+30 {
			t.Fatalf("visibility %ds with the probe 20s away, want 20..50", v.VisibilityTimeout)
		}
		buckets[v.VisibilityTimeout]++
	}
	// 200 messages over 30 one-second slots: about 7 each, none empty.
	for s := int32(21); s <= 50; s++ {
		if buckets[s] == 0 || buckets[s] > 20 {
			t.Errorf("%d messages come back %ds from now: not spread over the 30s (%v)", buckets[s], s, buckets)
		}
	}
}

// TestReleaseSpreadsHeldMessages: when a breaker closes again, the held
// messages this container knows come back at once, not after their own
// backoff, one slot of RecoverySpread/n each, soonest expiry first.
func TestReleaseSpreadsHeldMessages(t *testing.T) {
	t.Parallel()
	a := newSender("a")
	a.final = unavailable("a")
	f := newFixture(t, a)
	q := newSimQueue(f.clock)
	h := f.handler(func(d *dispatch.Deps, o *dispatch.Options) {
		d.DLQ, d.Visibility = q, q
		o.Breaker = breaker.Options{Threshold: 1, Cooldown: 30 * time.Second}
		o.QueueURL = "https://sqs.us-east-1.amazonaws.com/111122223333/cogmail"
		// One message at a time: a closed breaker lets every concurrent call
		// through, so with a batch in flight more than the first call could
		// reach the provider before it opens.
		o.Concurrency = 1
	})
	ctx := context.Background()
	const held = 300 // over the 30 s spread, 100 ms apart
	expiry := map[string]time.Time{}
	for i := range held {
		rec, _ := f.message(func(e *envelope.Envelope, _ *envelope.Payload) {
			e.ExpiresAt = e.CreatedAt.Add(time.Hour + time.Duration(held-i)*time.Minute)
		})
		rec.Attributes["ApproximateReceiveCount"] = "12" // hidden for 150..300 s
		q.put(rec)
		expiry[rec.MessageId] = f.clock.Now().Add(time.Hour + time.Duration(held-i)*time.Minute)
	}
	for recs := q.receive(); len(recs) > 0; recs = q.receive() {
		for i := range recs {
			recs[i].Attributes["ApproximateReceiveCount"] = "12"
		}
		_, _ = h.Handle(ctx, batch(recs...))
	}
	f.clock.Add(31 * time.Second) // the cooldown is over
	a.SetFinal(nil)
	probe, _ := f.message()
	if resp, _ := h.Handle(ctx, batch(probe)); len(reported(resp)) != 0 || a.Calls() != 2 {
		t.Fatalf("the probe: reported %v, %d calls", reported(resp), a.Calls())
	}
	if st, _ := h.Breaker("a"); st != breaker.Closed {
		t.Fatalf("breaker %v after the probe's success", st)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := f.clock.Now()
	type back struct {
		at     time.Duration
		expiry time.Time
	}
	var backs []back
	for id, m := range q.msgs {
		backs = append(backs, back{m.visibleAt.Sub(now), expiry[id]})
	}
	if len(backs) != held {
		t.Fatalf("%d held messages, want %d", len(backs), held)
	}
	slices.SortFunc(backs, func(x, y back) int { return cmp.Compare(x.at, y.at) })
	for i, b := range backs {
		// Slot i of 300 over 30 s is [i·100 ms, (i+1)·100 ms), in whole seconds.
		if lo, hi := time.Duration(i)*100*time.Millisecond, time.Duration(i+1)*100*time.Millisecond; b.at < lo.Truncate(time.Second) || b.at > hi {
			t.Errorf("message %d of %d comes back in %v, want within its slot %v..%v", i, held, b.at, lo, hi)
		}
		if i > 0 && b.expiry.Before(backs[i-1].expiry) && b.at > backs[i-1].at {
			t.Errorf("a message expiring at %v comes back after one expiring later", b.expiry)
		}
	}
	if got := counts(f.emf.String())["Released"]; got != held {
		t.Errorf("Released = %v, want %d", got, held)
	}
}

// TestInterruptedRetryAfterKeepsTheAnswer: when the wait for a provider's
// Retry-After is cut short (the invocation is ending), the message is
// retried later as rate-limited, what the provider said, not as a bare
// deadline.
func TestInterruptedRetryAfterKeepsTheAnswer(t *testing.T) {
	t.Parallel()
	a := newSender("a")
	a.final = rateLimited("a", 2*time.Second)
	f := newFixture(t, a)
	h := f.handler(func(_ *dispatch.Deps, o *dispatch.Options) {
		o.Sleep = func(context.Context, time.Duration) error { return context.DeadlineExceeded }
	})
	rec, _ := f.message()
	resp, _ := h.Handle(context.Background(), batch(rec))
	if len(reported(resp)) != 1 || a.Calls() != 1 {
		t.Fatalf("reported %v after %d calls, want the message retried after one", reported(resp), a.Calls())
	}
	if m := counts(f.emf.String()); m["Failed{Reason=rate-limited}"] != 1 {
		t.Errorf("failed by %v, want rate-limited", m)
	}
}

// TestReleaseKeepsTheReceiveBudget: a release costs a receive, so a held
// message whose remaining receives only just cover the rest of its window
// is left to its own visibility; one with receives to spare is released.
func TestReleaseKeepsTheReceiveBudget(t *testing.T) {
	t.Parallel()
	a := newSender("a")
	a.final = unavailable("a")
	f := newFixture(t, a)
	q := newSimQueue(f.clock)
	// A day's window needs `need` (585) receives: with MaxReceives 700, a
	// message on its 12th receive can spare one; one on its 700-need-th
	// cannot (that receive, the release's and the schedule's would be 701).
	need := dispatch.Options{}.Schedule(dispatch.DefaultMaxAge).Receives
	const maxReceives = 700
	h := f.handler(func(d *dispatch.Deps, o *dispatch.Options) {
		d.DLQ, d.Visibility = q, q
		o.Breaker = breaker.Options{Threshold: 1, Cooldown: 30 * time.Second}
		o.MaxReceives = maxReceives
		o.QueueURL = "https://sqs.us-east-1.amazonaws.com/111122223333/cogmail"
	})
	ctx := context.Background()
	spare, tight := "", ""
	for _, receives := range []int{12, maxReceives - need} {
		rec, _ := f.message(func(e *envelope.Envelope, _ *envelope.Payload) {
			e.Trigger, e.ExpiresAt = cognito.SignUp, e.CreatedAt.Add(24*time.Hour)
		})
		q.put(rec)
		got := q.receive()
		got[0].Attributes["ApproximateReceiveCount"] = strconv.Itoa(receives)
		_, _ = h.Handle(ctx, batch(got...))
		if receives == 12 {
			spare = rec.MessageId
		} else {
			tight = rec.MessageId
		}
	}
	f.clock.Add(31 * time.Second)
	a.SetFinal(nil)
	probe, _ := f.message()
	_, _ = h.Handle(ctx, batch(probe))
	q.mu.Lock()
	defer q.mu.Unlock()
	now := f.clock.Now()
	if at := q.msgs[spare].visibleAt.Sub(now); at > dispatch.DefaultRecoverySpread {
		t.Errorf("the message with receives to spare comes back in %v: not released", at)
	}
	if at := q.msgs[tight].visibleAt.Sub(now); at <= dispatch.DefaultRecoverySpread {
		t.Errorf("the message on receive %d of %d comes back in %v: released though its budget has no receive to spare", maxReceives-need, maxReceives, at)
	}
}
