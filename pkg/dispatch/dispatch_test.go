package dispatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/dispatch/breaker"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/idempotency"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/routing"
)

func unavailable(p string) error {
	return &provider.Error{Provider: p, Class: provider.Unavailable, Status: 503, Reason: "Service Unavailable"}
}

func rateLimited(p string, wait time.Duration) error {
	return &provider.Error{Provider: p, Class: provider.RateLimited, Status: 429, RetryAfter: wait, Reason: "too many requests"}
}

func permanent(p string) error {
	return &provider.Error{Provider: p, Class: provider.Permanent, Status: 400, Reason: "personalizations.0.to.0.email: Does not contain a valid address."}
}

// TestClassification is the retry and failover policy as a table: what
// each provider answers, and what happens to the message.
func TestClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		a, b         []error // successive answers of the primary and the secondary; nil is success
		aFinal       error   // answer after the script
		bFinal       error
		wantSentBy   string          // "" when not sent
		wantDLQ      dispatch.Reason // DLQ reason, "" when none
		wantRetry    dispatch.Reason // Failed{Reason} of a message reported for retry
		wantCalls    [2]int
		wantFailover bool
		wantSleep    time.Duration // a wait that must have happened (0: none asserted)
		wantNoSleep  time.Duration // a wait that must not have happened
	}{
		{name: "the primary sends", a: []error{nil}, wantSentBy: "a", wantCalls: [2]int{1, 0}},
		{name: "unavailable fails over", a: []error{unavailable("a")}, b: []error{nil},
			wantSentBy: "b", wantCalls: [2]int{1, 1}, wantFailover: true},
		{name: "an unclassified error is unavailable", a: []error{errors.New("dial tcp: connection refused")}, b: []error{nil},
			wantSentBy: "b", wantCalls: [2]int{1, 1}, wantFailover: true},
		{name: "permanent fails over", a: []error{permanent("a")}, b: []error{nil},
			wantSentBy: "b", wantCalls: [2]int{1, 1}, wantFailover: true},
		{name: "permanent from every provider goes to the DLQ", aFinal: permanent("a"), bFinal: permanent("b"),
			wantDLQ: envelope.ReasonPermanent, wantCalls: [2]int{1, 1}},
		{name: "permanent on the fallback, the primary recovers: the primary sends", a: []error{unavailable("a"), nil}, b: []error{permanent("b")},
			wantSentBy: "a", wantCalls: [2]int{2, 1}},
		{name: "permanent on the fallback, the primary down: retried as unavailable", aFinal: unavailable("a"), bFinal: permanent("b"),
			wantRetry: dispatch.ReasonUnavailable},
		{name: "rate limited with a short wait retries the same provider", a: []error{rateLimited("a", 2*time.Second), nil},
			wantSentBy: "a", wantCalls: [2]int{2, 0}, wantSleep: 2 * time.Second},
		{name: "rate limited beyond the budget fails over", a: []error{rateLimited("a", time.Minute)}, b: []error{nil},
			wantSentBy: "b", wantCalls: [2]int{1, 1}, wantFailover: true, wantNoSleep: time.Minute},
		{name: "rate limited without a time fails over", a: []error{rateLimited("a", 0)}, b: []error{nil},
			wantSentBy: "b", wantCalls: [2]int{1, 1}, wantFailover: true},
		{name: "a later round reaches the recovered primary", a: []error{unavailable("a"), nil}, b: []error{unavailable("b")},
			wantSentBy: "a", wantCalls: [2]int{2, 1}},
		{name: "every provider down until the budget ends", aFinal: unavailable("a"), bFinal: unavailable("b"),
			wantRetry: dispatch.ReasonUnavailable},
		{name: "every provider throttling", aFinal: rateLimited("a", time.Hour), bFinal: rateLimited("b", time.Hour),
			wantRetry: dispatch.ReasonRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := newSender("a", tt.a...), newSender("b", tt.b...)
			a.final, b.final = tt.aFinal, tt.bFinal
			f := newFixture(t, a, b)
			h := f.handler()
			rec, sec := f.message()
			resp, err := h.Handle(context.Background(), batch(rec))
			if err != nil {
				t.Fatal(err)
			}
			got := counts(f.emf.String())

			switch {
			case tt.wantSentBy != "":
				s := map[string]*sender{"a": a, "b": b}[tt.wantSentBy]
				if sent := s.Sent(); len(sent) != 1 || sent[0].To != sec.To || !strings.Contains(sent[0].Text, sec.Code) {
					t.Fatalf("%s sent %d messages, want this one", tt.wantSentBy, len(sent))
				}
				if len(reported(resp)) != 0 || len(f.queue.DLQ()) != 0 {
					t.Fatalf("sent, but reported %v and dead-lettered %d", reported(resp), len(f.queue.DLQ()))
				}
				if got["Sent{Provider="+tt.wantSentBy+",Trigger=SignUp}"] != 1 {
					t.Errorf("Sent metric: %v", got)
				}
			case tt.wantDLQ != "":
				dlq := f.queue.DLQ()
				if len(dlq) != 1 || reason(dlq[0]) != tt.wantDLQ || len(reported(resp)) != 0 {
					t.Fatalf("DLQ %d messages, reported %v; want one %s message, none reported", len(dlq), reported(resp), tt.wantDLQ)
				}
				if aws.ToString(dlq[0].MessageBody) != rec.Body {
					t.Error("the DLQ body is not the original, sealed body")
				}
				if got["DLQ{Reason="+string(tt.wantDLQ)+"}"] != 1 || got["Failed{Reason="+string(tt.wantDLQ)+"}"] != 1 {
					t.Errorf("DLQ metrics: %v", got)
				}
			default:
				if !slices.Equal(reported(resp), []string{rec.MessageId}) || len(f.queue.DLQ()) != 0 {
					t.Fatalf("reported %v, DLQ %d; want the message reported", reported(resp), len(f.queue.DLQ()))
				}
				if len(f.queue.Visibility()) != 1 {
					t.Fatalf("visibility changed %d times, want once", len(f.queue.Visibility()))
				}
				if got["Failed{Reason="+string(tt.wantRetry)+"}"] != 1 {
					t.Errorf("want Failed{Reason=%s}: %v", tt.wantRetry, got)
				}
				var slept time.Duration
				for _, d := range f.clock.Slept() {
					slept += d
				}
				if slept >= 20*time.Second {
					t.Errorf("slept %v, over the 20s budget", slept)
				}
			}
			if tt.wantCalls != [2]int{} && (a.Calls() != tt.wantCalls[0] || b.Calls() != tt.wantCalls[1]) {
				t.Errorf("calls a=%d b=%d, want %v", a.Calls(), b.Calls(), tt.wantCalls)
			}
			if (got["Failover"] == 1) != tt.wantFailover {
				t.Errorf("Failover metric = %v, want %v", got["Failover"], tt.wantFailover)
			}
			if tt.wantFailover {
				if got["Failover{Primary=a,Provider=b}"] != 1 || !strings.Contains(f.logs.String(), `"level":"WARN","msg":"delivered by a fallback provider"`) {
					t.Errorf("fallback not reported as WARN + metric: %v", got)
				}
			}
			if tt.wantSleep > 0 && !slices.Contains(f.clock.Slept(), tt.wantSleep) {
				t.Errorf("slept %v, want a %v wait", f.clock.Slept(), tt.wantSleep)
			}
			if tt.wantNoSleep > 0 && slices.Contains(f.clock.Slept(), tt.wantNoSleep) {
				t.Errorf("slept %v: waited for a provider beyond the budget", f.clock.Slept())
			}
			assertNoSecrets(t, "logs", f.logs.String(), sec)
			assertNoSecrets(t, "metrics", f.emf.String(), sec)
		})
	}
}

func TestMessagesThatCannotBeSent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		make       func(f *fixture) events.SQSMessage
		adjust     func(*dispatch.Deps, *dispatch.Options)
		wantDLQ    dispatch.Reason // reason; "" for none
		wantRetry  bool
		wantMetric string
	}{
		{"not JSON", func(f *fixture) events.SQSMessage {
			return record("{not json", nil, 1, f.clock.Now())
		}, nil, envelope.ReasonMalformed, false, "DLQ{Reason=malformed}"},
		{"unknown schema", func(f *fixture) events.SQSMessage {
			return record(`{"v":9,"id":"x"}`, nil, 1, f.clock.Now())
		}, nil, envelope.ReasonMalformed, false, "DLQ{Reason=malformed}"},
		{"expired: dead-lettered", func(f *fixture) events.SQSMessage {
			r, _ := f.message(func(e *envelope.Envelope, _ *envelope.Payload) { e.ExpiresAt = f.clock.Now().Add(-time.Second) })
			return r
		}, nil, envelope.ReasonExpired, false, "Expired{Trigger=SignUp}"},
		{"expired: dropped", func(f *fixture) events.SQSMessage {
			r, _ := f.message(func(e *envelope.Envelope, _ *envelope.Payload) { e.ExpiresAt = f.clock.Now() })
			return r
		}, func(_ *dispatch.Deps, o *dispatch.Options) { o.DropExpired = true }, "", false, "Expired{Trigger=SignUp}"},
		{"max-age: a temporary password a day after ingest accepted it", func(f *fixture) events.SQSMessage {
			r, _ := f.message(func(e *envelope.Envelope, _ *envelope.Payload) {
				e.Trigger = cognito.AdminCreateUser
				e.CreatedAt, e.ExpiresAt = f.clock.Now().Add(-dispatch.DefaultMaxAge), f.clock.Now().Add(6*24*time.Hour)
			})
			return r
		}, nil, envelope.ReasonMaxAge, false, "DLQ{Reason=max-age}"},
		{"max-age: past its trigger's retry window", func(f *fixture) events.SQSMessage {
			r, _ := f.message(func(e *envelope.Envelope, _ *envelope.Payload) { e.CreatedAt = f.clock.Now().Add(-2 * time.Hour) })
			return r
		}, func(_ *dispatch.Deps, o *dispatch.Options) {
			o.RetryWindows = map[cognito.Trigger]time.Duration{cognito.SignUp: 2 * time.Hour}
		}, envelope.ReasonMaxAge, false, "DLQ{Reason=max-age}"},
		{"tampered ciphertext", func(f *fixture) events.SQSMessage {
			r, _ := f.message()
			var env envelope.Envelope
			_ = json.Unmarshal([]byte(r.Body), &env)
			env.Sealed.Ciphertext[0] ^= 1
			b, _ := json.Marshal(env)
			r.Body = string(b)
			return r
		}, nil, envelope.ReasonUnsealable, false, "DLQ{Reason=unsealable}"},
		{"KMS unavailable", func(f *fixture) events.SQSMessage {
			r, _ := f.message()
			f.kms.Fail = errors.New("KMS: ThrottlingException")
			return r
		}, nil, "", true, "Failed{Reason=kms}"},
		{"no time left in the invocation", func(f *fixture) events.SQSMessage {
			r, _ := f.message()
			return r
		}, func(_ *dispatch.Deps, o *dispatch.Options) { o.DeadlineMargin = time.Hour }, "", true, "Failed{Reason=deadline}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newSender("a", nil)
			f := newFixture(t, a)
			var adjust []func(*dispatch.Deps, *dispatch.Options)
			if tt.adjust != nil {
				adjust = append(adjust, tt.adjust)
			}
			h := f.handler(adjust...)
			rec := tt.make(f)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			resp, err := h.Handle(ctx, batch(rec))
			if err != nil {
				t.Fatal(err)
			}
			if a.Calls() != 0 {
				t.Errorf("the provider was called %d times", a.Calls())
			}
			if got := len(reported(resp)) == 1; got != tt.wantRetry {
				t.Errorf("reported %v, want retry %v", reported(resp), tt.wantRetry)
			}
			dlq := f.queue.DLQ()
			switch {
			case tt.wantDLQ == "" && len(dlq) != 0:
				t.Errorf("dead-lettered as %s", reason(dlq[0]))
			case tt.wantDLQ != "" && (len(dlq) != 1 || reason(dlq[0]) != tt.wantDLQ):
				t.Errorf("DLQ %d messages, want one %s", len(dlq), tt.wantDLQ)
			}
			if counts(f.emf.String())[tt.wantMetric] != 1 {
				t.Errorf("want metric %s: %v", tt.wantMetric, counts(f.emf.String()))
			}
		})
	}
}

func TestDuplicates(t *testing.T) {
	t.Parallel()
	a := newSender("a")
	f := newFixture(t, a)
	h := f.handler()
	first, _ := f.message(func(e *envelope.Envelope, _ *envelope.Payload) { e.DedupKey = "same" })
	twin, _ := f.message(func(e *envelope.Envelope, _ *envelope.Payload) { e.DedupKey = "same" })
	ctx := context.Background()

	// In one batch, one copy is sent; the other is either seen in flight
	// (and reported, to wait for the first's outcome) or seen as sent.
	resp, _ := h.Handle(ctx, batch(first, twin))
	dups := counts(f.emf.String())["Duplicate"]
	if a.Calls() != 1 || len(reported(resp))+int(dups) != 1 {
		t.Fatalf("same key twice in a batch: %d sends, %v reported, %v duplicates; want 1 send and the twin held back",
			a.Calls(), reported(resp), dups)
	}
	// Redelivered, both are duplicates.
	first.Attributes["ApproximateReceiveCount"] = "2"
	twin.Attributes["ApproximateReceiveCount"] = "2"
	resp, _ = h.Handle(ctx, batch(first, twin))
	if a.Calls() != 1 || len(reported(resp)) != 0 {
		t.Fatalf("redelivery: %d sends, %v reported; want no new send, nothing reported", a.Calls(), reported(resp))
	}
	if got := counts(f.emf.String())["Duplicate"]; got != dups+2 {
		t.Fatalf("Duplicate = %v, want %v", got, dups+2)
	}
}

// TestTwinInFlightWaits: while one copy is being sent, its twin in the
// same batch is reported (to learn the first one's outcome), not sent.
func TestTwinInFlightWaits(t *testing.T) {
	t.Parallel()
	a := newSender("a")
	f := newFixture(t, a)
	released := make(chan struct{})
	var once sync.Once
	f.queue.onVis = func() { once.Do(func() { close(released) }) }
	// The send waits until the twin has been put back on the queue.
	a.hook = func(ctx context.Context) {
		select {
		case <-released:
		case <-ctx.Done():
		}
	}
	h := f.handler()
	first, _ := f.message(func(e *envelope.Envelope, _ *envelope.Payload) { e.DedupKey = "same" })
	twin, _ := f.message(func(e *envelope.Envelope, _ *envelope.Payload) { e.DedupKey = "same" })
	resp, _ := h.Handle(context.Background(), batch(first, twin))
	if len(a.Sent()) != 1 || len(reported(resp)) != 1 {
		t.Fatalf("%d sent, %v reported; want 1 sent and the twin reported", len(a.Sent()), reported(resp))
	}
	if got := counts(f.emf.String())["Failed{Reason=in-progress}"]; got != 1 {
		t.Fatalf("Failed{Reason=in-progress} = %v, want 1", got)
	}
}

func TestDedupCacheIsBounded(t *testing.T) {
	t.Parallel()
	a := newSender("a")
	f := newFixture(t, a)
	h := f.handler(func(_ *dispatch.Deps, o *dispatch.Options) { o.DedupCacheSize = 2 })
	ctx := context.Background()
	var recs []events.SQSMessage
	for i := range 3 {
		r, _ := f.message(func(e *envelope.Envelope, _ *envelope.Payload) { e.DedupKey = fmt.Sprint("k", i) })
		recs = append(recs, r)
		_, _ = h.Handle(ctx, batch(r))
	}
	// k2 and k1 are remembered; k0 was evicted, so it is sent again.
	for _, r := range []events.SQSMessage{recs[2], recs[1], recs[0]} {
		_, _ = h.Handle(ctx, batch(r))
	}
	if a.Calls() != 4 || counts(f.emf.String())["Duplicate"] != 2 {
		t.Fatalf("%d sends, %v duplicates; want 4 sends (k0 twice), 2 duplicates", a.Calls(), counts(f.emf.String())["Duplicate"])
	}
}

func TestIdempotencyStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		answer        idempotency.Status
		err           error
		provider      error
		wantSends     int
		wantRetry     bool
		wantCompletes int
		wantReleases  int
		wantMetric    string
	}{
		{"claimed and sent", idempotency.Claimed, nil, nil, 1, false, 1, 0, "Sent"},
		{"sent by another container", idempotency.Completed, nil, nil, 0, false, 0, 0, "Duplicate"},
		{"being sent by another container", idempotency.InProgress, nil, nil, 0, true, 0, 0, "Failed{Reason=in-progress}"},
		{"table unreachable", 0, errors.New("RequestTimeout"), nil, 0, true, 0, 0, "Failed{Reason=idempotency}"},
		{"claimed, provider down: released", idempotency.Claimed, nil, unavailable("a"), 0, true, 0, 1, "Failed{Reason=unavailable}"},
		{"claimed, rejected: released", idempotency.Claimed, nil, permanent("a"), 0, false, 0, 1, "DLQ{Reason=permanent}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newSender("a")
			a.final = tt.provider
			f := newFixture(t, a)
			store := &idem{answer: tt.answer, err: tt.err}
			h := f.handler(func(d *dispatch.Deps, o *dispatch.Options) { d.Idempotency = store; o.MessageBudget = 5 * time.Second })
			rec, _ := f.message()
			start := f.clock.Now()
			resp, _ := h.Handle(context.Background(), batch(rec))
			if len(a.Sent()) != tt.wantSends || (len(reported(resp)) == 1) != tt.wantRetry {
				t.Fatalf("sends %d, reported %v; want %d sends, retry %v", len(a.Sent()), reported(resp), tt.wantSends, tt.wantRetry)
			}
			if len(store.completes) != tt.wantCompletes || len(store.releases) != tt.wantReleases {
				t.Fatalf("completes %d, releases %d; want %d, %d", len(store.completes), len(store.releases), tt.wantCompletes, tt.wantReleases)
			}
			if len(store.until) != 1 || store.until[0].After(start.Add(5*time.Second)) {
				t.Fatalf("claimed until %v, want within the 5s budget", store.until)
			}
			if counts(f.emf.String())[tt.wantMetric] != 1 {
				t.Fatalf("want %s: %v", tt.wantMetric, counts(f.emf.String()))
			}
		})
	}
}

func TestBreakers(t *testing.T) {
	t.Parallel()
	a, b := newSender("a"), newSender("b")
	a.final = unavailable("a")
	f := newFixture(t, a, b)
	h := f.handler(func(_ *dispatch.Deps, o *dispatch.Options) {
		o.Breaker = breaker.Options{Threshold: 2, Cooldown: 30 * time.Second}
	})
	ctx := context.Background()
	send := func() events.SQSEventResponse {
		rec, _ := f.message()
		resp, err := h.Handle(ctx, batch(rec))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	steps := []struct {
		name         string
		before       func()
		wantA, wantB int // cumulative calls
		wantReported bool
		wantState    breaker.State // of a, after
	}{
		{"a fails once, b sends", nil, 1, 1, false, breaker.Closed},
		{"a fails twice: its breaker opens", nil, 2, 2, false, breaker.Open},
		{"a is skipped while open", nil, 2, 3, false, breaker.Open},
		{"both open: fail fast without calls", func() { b.SetFinal(unavailable("b")); send(); send() }, 2, 5, true, breaker.Open},
		{"after the cooldown a probes and closes", func() { f.clock.Add(30 * time.Second); a.SetFinal(nil) }, 3, 5, false, breaker.Closed},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		resp := send()
		st, _ := h.Breaker("a")
		if a.Calls() != s.wantA || b.Calls() != s.wantB || (len(reported(resp)) == 1) != s.wantReported || st != s.wantState {
			t.Fatalf("%s: calls a=%d b=%d, reported %v, a %v; want a=%d b=%d, reported %v, a %v",
				s.name, a.Calls(), b.Calls(), reported(resp), st, s.wantA, s.wantB, s.wantReported, s.wantState)
		}
	}
	// b's own failures opened it during the first of those sends; the next
	// two found every breaker open.
	if got := counts(f.emf.String())["Failed{Reason=breakers-open}"]; got != 2 {
		t.Errorf("Failed{Reason=breakers-open} = %v, want 2", got)
	}
	if got := counts(f.emf.String())["BreakerTransition{Provider=a,State=open}"]; got != 1 {
		t.Errorf("a's opening not counted: %v", counts(f.emf.String()))
	}
}

func TestPartialBatchResponse(t *testing.T) {
	t.Parallel()
	a := newSender("a")
	f := newFixture(t, a)
	fail := map[string]bool{}
	h := f.handler(func(d *dispatch.Deps, _ *dispatch.Options) {
		d.Senders = []dispatch.Sender{failing{Sender: a, to: fail}}
	})
	var recs []events.SQSMessage
	var want []string
	for i := range 10 {
		r, sec := f.message()
		recs = append(recs, r)
		if i%3 == 0 {
			fail[sec.To] = true
			want = append(want, r.MessageId)
		}
	}
	resp, err := h.Handle(context.Background(), batch(recs...))
	if err != nil {
		t.Fatal(err)
	}
	got := reported(resp)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("reported %v, want exactly %v", got, want)
	}
	if len(a.Sent()) != 6 {
		t.Fatalf("%d sent, want 6", len(a.Sent()))
	}
}

// failing wraps a sender and fails the messages to some addresses.
type failing struct {
	dispatch.Sender
	to map[string]bool
}

func (f failing) Send(ctx context.Context, m provider.Message) (provider.Receipt, error) {
	if f.to[m.To] {
		return provider.Receipt{}, unavailable(f.Name())
	}
	return f.Sender.Send(ctx, m)
}

func TestConcurrencyIsBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		concurrency int
		records     int
	}{
		{"a batch of 10 all at once", 10, 10},
		{"bounded at 3", 3, 10},
		{"one at a time", 1, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			cond := sync.NewCond(&mu)
			inFlight, peak := 0, 0
			a := newSender("a")
			// Each send waits until the bound is reached (or the batch's
			// remainder is in flight), proving that many run at once.
			left := tt.records
			a.hook = func(context.Context) {
				mu.Lock()
				defer mu.Unlock()
				inFlight++
				peak = max(peak, inFlight)
				for inFlight < min(tt.concurrency, left) {
					cond.Wait()
				}
				cond.Broadcast()
				inFlight--
				left--
			}
			f := newFixture(t, a)
			h := f.handler(func(_ *dispatch.Deps, o *dispatch.Options) { o.Concurrency = tt.concurrency })
			var recs []events.SQSMessage
			for range tt.records {
				r, _ := f.message()
				recs = append(recs, r)
			}
			resp, _ := h.Handle(context.Background(), batch(recs...))
			if len(reported(resp)) != 0 || len(a.Sent()) != tt.records {
				t.Fatalf("sent %d, reported %v", len(a.Sent()), reported(resp))
			}
			if peak != tt.concurrency {
				t.Fatalf("peak concurrency %d, want %d", peak, tt.concurrency)
			}
		})
	}
}

func TestWeightedRouting(t *testing.T) {
	t.Parallel()
	a, b, c := newSender("sendgrid"), newSender("mailgun"), newSender("ses")
	f := newFixture(t, a, b, c)
	h := f.handler(func(d *dispatch.Deps, _ *dispatch.Options) {
		d.Routes = routing.Static{Providers: []string{"sendgrid", "mailgun", "ses"}, Strategy: routing.Weighted,
			Weights: map[string]int{"sendgrid": 3, "mailgun": 1, "ses": 0}}
	})
	const n = 2000
	for range n / 10 {
		var recs []events.SQSMessage
		for range 10 {
			r, _ := f.message()
			recs = append(recs, r)
		}
		_, _ = h.Handle(context.Background(), batch(recs...))
	}
	share := float64(len(a.Sent())) / n
	if share < 0.70 || share > 0.80 || len(a.Sent())+len(b.Sent()) != n || len(c.Sent()) != 0 {
		t.Fatalf("sendgrid %d, mailgun %d, ses %d of %d; want about 3:1 and the standby unused",
			len(a.Sent()), len(b.Sent()), len(c.Sent()), n)
	}
	// The standby takes over when the weighted ones fail.
	a.SetFinal(unavailable("sendgrid"))
	b.SetFinal(unavailable("mailgun"))
	r, _ := f.message()
	_, _ = h.Handle(context.Background(), batch(r))
	if len(c.Sent()) != 1 {
		t.Fatalf("the standby sent %d, want 1", len(c.Sent()))
	}
}

func TestDLQAttributes(t *testing.T) {
	t.Parallel()
	names := []string{"mailgun", "sendgrid", "ses", "smtp"}
	var senders []*sender
	for _, n := range names {
		s := newSender(n)
		s.final = unavailable(n)
		senders = append(senders, s)
	}
	f := newFixture(t, senders...)
	h := f.handler(func(_ *dispatch.Deps, o *dispatch.Options) { o.MaxReceives = 3 })
	rec, sec := f.message()
	first := f.clock.Now().Add(-10 * time.Minute)
	rec.Attributes["ApproximateReceiveCount"] = "3"
	rec.Attributes["ApproximateFirstReceiveTimestamp"] = strconv.FormatInt(first.UnixMilli(), 10)
	resp, _ := h.Handle(context.Background(), batch(rec))
	if len(reported(resp)) != 0 {
		t.Fatalf("reported %v: a message on its last receive must be dead-lettered, not retried", reported(resp))
	}
	dlq := f.queue.DLQ()
	if len(dlq) != 1 {
		t.Fatalf("%d DLQ messages, want 1", len(dlq))
	}
	attrs := dlq[0].MessageAttributes
	if len(attrs) > 10 {
		t.Fatalf("%d attributes, over SQS's 10", len(attrs))
	}
	str := func(k string) string { return aws.ToString(attrs[k].StringValue) }
	tests := []struct {
		attr, want string
	}{
		{envelope.AttrReason, string(envelope.ReasonRetriesExhausted)},
		{envelope.AttrAttempts, "3"},
		{envelope.AttrFirstAttempt, first.UTC().Format(time.RFC3339Nano)},
		{envelope.AttrLastAttempt, f.clock.Now().UTC().Format(time.RFC3339Nano)},
		{envelope.AttrError, "last failure: unavailable"},
		{envelope.AttrLastError + "sendgrid", "sendgrid: unavailable (status 503): Service Unavailable"},
		{envelope.AttrLastError + "smtp", "smtp: unavailable (status 503): Service Unavailable"},
		{envelope.AttrMessageID, str(envelope.AttrMessageID)},
	}
	for _, tt := range tests {
		if got := str(tt.attr); got != tt.want || got == "" {
			t.Errorf("%s = %q, want %q", tt.attr, got, tt.want)
		}
	}
	if aws.ToString(attrs[envelope.AttrAttempts].DataType) != "Number" {
		t.Errorf("%s is not a Number", envelope.AttrAttempts)
	}
	var all strings.Builder
	for k, v := range attrs {
		all.WriteString(k + "=" + aws.ToString(v.StringValue) + "\n")
	}
	assertNoSecrets(t, "DLQ attributes", all.String(), sec)
}

// A message whose last delivery finds every breaker open still says, in
// the DLQ, what each provider last answered: the answers that opened the
// breakers, on an earlier receive, with when they came.
func TestDLQEntryCarriesLastAnswersWhenEveryBreakerIsOpen(t *testing.T) {
	t.Parallel()
	names := []string{"mailgun", "sendgrid", "ses", "smtp"}
	var senders []*sender
	for _, n := range names {
		s := newSender(n)
		s.final = unavailable(n)
		senders = append(senders, s)
	}
	f := newFixture(t, senders...)
	h := f.handler(func(_ *dispatch.Deps, o *dispatch.Options) {
		o.MaxReceives = 3
		o.Breaker = breaker.Options{Threshold: 1, Cooldown: time.Hour}
	})
	ctx := context.Background()
	failedAt := f.clock.Now()
	first, _ := f.message()
	if resp, _ := h.Handle(ctx, batch(first)); len(reported(resp)) != 1 {
		t.Fatalf("first receive: reported %v, want the message retried", reported(resp))
	}
	for _, n := range names {
		if st, _ := h.Breaker(n); st != breaker.Open {
			t.Fatalf("%s's breaker is %v after its failure, want open", n, st)
		}
	}
	calls := 0
	for _, s := range senders {
		calls += s.Calls()
	}

	f.clock.Add(5 * time.Minute)
	last, sec := f.message()
	last.Attributes["ApproximateReceiveCount"] = "3"
	if resp, _ := h.Handle(ctx, batch(last)); len(reported(resp)) != 0 {
		t.Fatalf("last receive: reported %v, want the message dead-lettered", reported(resp))
	}
	after := 0
	for _, s := range senders {
		after += s.Calls()
	}
	if after != calls {
		t.Fatalf("%d provider calls with every breaker open, want none", after-calls)
	}
	dlq := f.queue.DLQ()
	if len(dlq) != 1 {
		t.Fatalf("%d DLQ messages, want 1", len(dlq))
	}
	attrs := dlq[0].MessageAttributes
	str := func(k string) string { return aws.ToString(attrs[k].StringValue) }
	if got := str(envelope.AttrError); got != "last failure: breakers-open" {
		t.Errorf("%s = %q", envelope.AttrError, got)
	}
	for _, n := range names {
		got := str(envelope.AttrLastError + n)
		want := n + ": unavailable (status 503): Service Unavailable"
		if !strings.HasPrefix(got, want) || !strings.Contains(got, failedAt.UTC().Format(time.RFC3339)) {
			t.Errorf("%s%s = %q, want %q with the time it answered (%s)", envelope.AttrLastError, n, got, want, failedAt.UTC().Format(time.RFC3339))
		}
	}
	if len(attrs) > 10 {
		t.Errorf("%d attributes, over SQS's 10", len(attrs))
	}
	var all strings.Builder
	for k, v := range attrs {
		all.WriteString(k + "=" + aws.ToString(v.StringValue) + "\n")
	}
	assertNoSecrets(t, "DLQ attributes", all.String(), sec)
}

// TestDLQAttributesReplaceOldOnes: a message replayed from the DLQ carries
// its old DLQ attributes back; dead-lettering it again replaces them, so an
// old provider's error cannot pass for a new one.
func TestDLQAttributesReplaceOldOnes(t *testing.T) {
	t.Parallel()
	a := newSender("a")
	a.final = permanent("a")
	f := newFixture(t, a)
	h := f.handler()
	rec, _ := f.message()
	old := func(v string) events.SQSMessageAttribute {
		return events.SQSMessageAttribute{DataType: "String", StringValue: aws.String(v)}
	}
	rec.MessageAttributes[envelope.AttrReason] = old("retries-exhausted")
	rec.MessageAttributes[envelope.AttrLastError+"oldprovider"] = old("oldprovider: unavailable")
	rec.MessageAttributes[envelope.AttrError] = old("stale")
	if resp, _ := h.Handle(context.Background(), batch(rec)); len(reported(resp)) != 0 {
		t.Fatalf("reported %v", reported(resp))
	}
	dlq := f.queue.DLQ()
	if len(dlq) != 1 {
		t.Fatalf("%d DLQ messages, want 1", len(dlq))
	}
	attrs := dlq[0].MessageAttributes
	if _, ok := attrs[envelope.AttrLastError+"oldprovider"]; ok {
		t.Error("an old lastError attribute survived")
	}
	if got := aws.ToString(attrs[envelope.AttrReason].StringValue); got != string(envelope.ReasonPermanent) {
		t.Errorf("reason = %q, want %q", got, envelope.ReasonPermanent)
	}
	if got := aws.ToString(attrs[envelope.AttrError].StringValue); got == "stale" {
		t.Error("the old error survived")
	}
}

func TestDLQUnavailableRetries(t *testing.T) {
	t.Parallel()
	a := newSender("a")
	a.final = permanent("a")
	f := newFixture(t, a)
	f.queue.dlqErr = errors.New("AWS.SimpleQueueService.NonExistentQueue")
	h := f.handler()
	rec, _ := f.message()
	resp, _ := h.Handle(context.Background(), batch(rec))
	if !slices.Equal(reported(resp), []string{rec.MessageId}) {
		t.Fatalf("reported %v: a message the DLQ refused must be retried", reported(resp))
	}
	if counts(f.emf.String())["Failed{Reason=dlq-failed}"] != 1 {
		t.Fatalf("metrics %v", counts(f.emf.String()))
	}
}

func TestVisibilityBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		receives int
		min, max int32 // seconds
	}{
		// BackoffBase 1s doubling, capped at DefaultBackoffMax (5 min), equal jitter.
		{1, 1, 1}, {2, 1, 2}, {3, 2, 4}, {5, 8, 16}, {9, 128, 256}, {10, 150, 300}, {30, 150, 300}, {1000, 150, 300},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.receives), func(t *testing.T) {
			t.Parallel()
			a := newSender("a")
			a.final = unavailable("a")
			f := newFixture(t, a)
			h := f.handler(func(_ *dispatch.Deps, o *dispatch.Options) { o.MessageBudget = time.Second })
			for range 20 {
				rec, _ := f.message()
				rec.Attributes["ApproximateReceiveCount"] = strconv.Itoa(tt.receives)
				_, _ = h.Handle(context.Background(), batch(rec))
			}
			vis := f.queue.Visibility()
			if len(vis) != 20 {
				t.Fatalf("%d visibility changes, want 20", len(vis))
			}
			for _, v := range vis {
				if v.VisibilityTimeout < tt.min || v.VisibilityTimeout > tt.max {
					t.Fatalf("visibility %ds after %d receives, want %d..%d", v.VisibilityTimeout, tt.receives, tt.min, tt.max)
				}
				if aws.ToString(v.QueueUrl) != "https://sqs.us-east-1.amazonaws.com/111122223333/cogmail" {
					t.Fatalf("queue URL %q not derived from the event source ARN", aws.ToString(v.QueueUrl))
				}
			}
		})
	}
}

func TestBudgetBoundsRetries(t *testing.T) {
	t.Parallel()
	a, b := newSender("a"), newSender("b")
	a.final, b.final = unavailable("a"), unavailable("b")
	f := newFixture(t, a, b)
	h := f.handler(func(_ *dispatch.Deps, o *dispatch.Options) {
		o.MessageBudget = 8 * time.Second
		o.BackoffBase = 500 * time.Millisecond
	})
	rec, _ := f.message()
	start := f.clock.Now()
	resp, _ := h.Handle(context.Background(), batch(rec))
	if len(reported(resp)) != 1 {
		t.Fatal("not reported")
	}
	if end := f.clock.Now(); end.Sub(start) >= 8*time.Second {
		t.Fatalf("attempts ran %v on the handler's clock, past the 8s budget", end.Sub(start))
	}
	if a.Calls() < 2 || a.Calls() != b.Calls() && a.Calls() != b.Calls()+1 {
		t.Fatalf("calls a=%d b=%d: want several rounds over both providers", a.Calls(), b.Calls())
	}
	// Full jitter: each wait lies under the exponential cap for its round.
	for i, d := range f.clock.Slept() {
		if limit := 500 * time.Millisecond << i; d >= limit {
			t.Fatalf("wait %d was %v, want under %v", i, d, limit)
		}
	}
}

func TestNewChecks(t *testing.T) {
	t.Parallel()
	f := newFixture(t, newSender("a"))
	tests := []struct {
		name   string
		adjust func(*dispatch.Deps, *dispatch.Options)
		want   string
	}{
		{"no senders", func(d *dispatch.Deps, _ *dispatch.Options) { d.Senders = nil }, "no Senders"},
		{"two with one name", func(d *dispatch.Deps, _ *dispatch.Options) { d.Senders = append(d.Senders, newSender("a")) }, `two Senders named "a"`},
		{"no DLQ URL", func(_ *dispatch.Deps, o *dispatch.Options) { o.DLQURL = "" }, "DLQURL"},
		{"no sender address", func(_ *dispatch.Deps, o *dispatch.Options) { o.From.Email = "" }, "From.Email"},
		{"no opener", func(d *dispatch.Deps, _ *dispatch.Options) { d.Opener = nil }, "Opener"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, o := f.config(tt.adjust)
			_, err := dispatch.New(d, o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error about %s", err, tt.want)
			}
		})
	}
}

// TestNewListsProblemsInOrder: every missing dependency is reported, in
// the same order every run.
func TestNewListsProblemsInOrder(t *testing.T) {
	t.Parallel()
	_, err := dispatch.New(dispatch.Deps{}, dispatch.Options{})
	want := "dispatch: no Senders\nmissing Routes\nmissing Opener\nmissing DLQ\nmissing Visibility\nOptions.DLQURL is required\nOptions.From.Email is required"
	for range 20 { // a map's order would differ within a few runs
		if _, again := dispatch.New(dispatch.Deps{}, dispatch.Options{}); err == nil || again == nil || again.Error() != err.Error() || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("New = %q, then %q; want both to start with %q", err, again, want)
		}
	}
}

func TestPanickingProviderIsRetried(t *testing.T) {
	t.Parallel()
	a := newSender("a")
	a.hook = func(context.Context) { panic("boom: ada@example.com") }
	f := newFixture(t, a)
	h := f.handler()
	rec, sec := f.message()
	ok, _ := f.message()
	resp, err := h.Handle(context.Background(), batch(rec))
	if err != nil || !slices.Equal(reported(resp), []string{rec.MessageId}) {
		t.Fatalf("Handle = %v, %v; want the message reported", reported(resp), err)
	}
	if strings.Contains(f.logs.String(), "ada@example.com") || counts(f.emf.String())["Failed{Reason=panic}"] != 1 {
		t.Fatalf("panic not reported safely: %s", f.logs.String())
	}
	assertNoSecrets(t, "logs", f.logs.String(), sec)
	// The handler still works afterwards.
	a.hook = nil
	if resp, _ := h.Handle(context.Background(), batch(ok)); len(reported(resp)) != 0 {
		t.Fatal("the next batch failed")
	}
}
