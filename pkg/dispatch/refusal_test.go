package dispatch_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/dispatch/breaker"
	"github.com/cogmail/cogmail/pkg/envelope"
)

// TestPermanentRefusalFailsOver: a provider's permanent refusal is about
// this message at this provider, so the next provider is tried; the message
// is dead-lettered as permanent only when every provider in its order
// refused it. Each case is one message over successive receives: what a
// and b answer on each, and how the receive ends.
func TestPermanentRefusalFailsOver(t *testing.T) {
	t.Parallel()
	type receive struct {
		after      time.Duration // clock advance before this receive
		a, b       error         // each provider's answers on this receive
		sentBy     string        // "b": sent by b (a failover from a)
		dlq        dispatch.Reason
		retry      dispatch.Reason // Failed{Reason} of a message reported for retry
		minVisible int32           // seconds the retried message must stay hidden, at least
		calls      [2]int          // calls of a and b in this receive
	}
	tests := []struct {
		name        string
		breaker     breaker.Options
		maxReceives int
		receives    []receive
		lastErrors  map[string]string // the DLQ entry's cogmail.lastError.<provider>, by prefix
	}{
		{name: "a refuses, b sends", receives: []receive{
			{a: permanent("a"), b: nil, sentBy: "b", calls: [2]int{1, 1}},
		}},
		{name: "a and b refuse: dead-lettered with both answers", receives: []receive{
			{a: permanent("a"), b: permanent("b"), dlq: envelope.ReasonPermanent, calls: [2]int{1, 1}},
		}, lastErrors: map[string]string{
			"a": "a: permanent (status 400)", "b": "b: permanent (status 400)",
		}},
		{name: "a refuses, b unavailable: retried, then b sends", receives: []receive{
			// a is out of the later rounds of the first receive: one call.
			{a: permanent("a"), b: unavailable("b"), retry: dispatch.ReasonUnavailable, calls: [2]int{1, -1}},
			{after: time.Minute, a: permanent("a"), b: nil, sentBy: "b", calls: [2]int{1, 1}},
		}},
		{name: "a refuses, b's breaker open: retried after b's probe, then b sends",
			breaker: breaker.Options{Threshold: 1, Cooldown: 30 * time.Second},
			receives: []receive{
				{a: permanent("a"), b: unavailable("b"), retry: dispatch.ReasonUnavailable, calls: [2]int{1, 1}},
				// b's breaker opened 5 s ago: b is not asked, so not every
				// provider refused; back no earlier than b's probe.
				{after: 5 * time.Second, a: permanent("a"), b: nil, retry: dispatch.ReasonBreakersOpen, minVisible: 25, calls: [2]int{1, 0}},
				{after: 30 * time.Second, a: permanent("a"), b: nil, sentBy: "b", calls: [2]int{1, 1}},
			}},
		{name: "a refuses, b unavailable to the last receive: the DLQ entry keeps both answers", maxReceives: 2,
			receives: []receive{
				{a: permanent("a"), b: unavailable("b"), retry: dispatch.ReasonUnavailable, calls: [2]int{1, -1}},
				{after: time.Minute, a: permanent("a"), b: unavailable("b"), dlq: envelope.ReasonRetriesExhausted, calls: [2]int{1, -1}},
			}, lastErrors: map[string]string{
				"a": "a: permanent (status 400)", "b": "b: unavailable (status 503)",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := newSender("a"), newSender("b")
			f := newFixture(t, a, b)
			h := f.handler(func(_ *dispatch.Deps, o *dispatch.Options) {
				if tt.breaker.Threshold > 0 {
					o.Breaker = tt.breaker
				}
				o.MaxReceives = tt.maxReceives
			})
			rec, sec := f.message()
			for i, r := range tt.receives {
				f.clock.Add(r.after)
				a.SetFinal(r.a)
				b.SetFinal(r.b)
				rec.Attributes["ApproximateReceiveCount"] = strconv.Itoa(i + 1)
				callsA, callsB := a.Calls(), b.Calls()
				emf, vis, dlq := len(f.emf.String()), len(f.queue.Visibility()), len(f.queue.DLQ())
				resp, err := h.Handle(context.Background(), batch(rec))
				if err != nil {
					t.Fatal(err)
				}
				got := counts(f.emf.String()[emf:])
				switch {
				case r.sentBy != "":
					if len(reported(resp)) != 0 || len(f.queue.DLQ()) != dlq {
						t.Fatalf("receive %d: reported %v, DLQ %d; want sent", i+1, reported(resp), len(f.queue.DLQ())-dlq)
					}
					if got["Sent{Provider="+r.sentBy+",Trigger=SignUp}"] != 1 || got["Failover{Primary=a,Provider="+r.sentBy+"}"] != 1 {
						t.Errorf("receive %d: want Sent and Failover by %s: %v", i+1, r.sentBy, got)
					}
					if sent := b.Sent(); len(sent) != 1 || sent[0].To != sec.To {
						t.Errorf("receive %d: b sent %d messages, want this one", i+1, len(sent))
					}
				case r.dlq != "":
					out := f.queue.DLQ()[dlq:]
					if len(out) != 1 || reason(out[0]) != r.dlq || len(reported(resp)) != 0 {
						t.Fatalf("receive %d: DLQ %d, reported %v; want one %s entry", i+1, len(out), reported(resp), r.dlq)
					}
					for p, want := range tt.lastErrors {
						if got := aws.ToString(out[0].MessageAttributes[envelope.AttrLastError+p].StringValue); !strings.HasPrefix(got, want) {
							t.Errorf("%s%s = %q, want %q...", envelope.AttrLastError, p, got, want)
						}
					}
				default:
					if len(reported(resp)) != 1 || len(f.queue.DLQ()) != dlq {
						t.Fatalf("receive %d: reported %v, DLQ %d; want the message retried", i+1, reported(resp), len(f.queue.DLQ())-dlq)
					}
					if got["Failed{Reason="+string(r.retry)+"}"] != 1 {
						t.Errorf("receive %d: want Failed{Reason=%s}: %v", i+1, r.retry, got)
					}
					v := f.queue.Visibility()[vis:]
					if len(v) != 1 || v[0].VisibilityTimeout < r.minVisible {
						t.Errorf("receive %d: visibility %v, want one of %ds at least", i+1, v, r.minVisible)
					}
				}
				if a.Calls()-callsA != r.calls[0] || r.calls[1] >= 0 && b.Calls()-callsB != r.calls[1] {
					t.Errorf("receive %d: calls a=%d b=%d, want %v (-1: any)", i+1, a.Calls()-callsA, b.Calls()-callsB, r.calls)
				}
			}
			if n := len(b.Sent()); n > 1 || len(a.Sent()) != 0 {
				t.Errorf("sent a=%d b=%d times, want b once at most", len(a.Sent()), n)
			}
			assertNoSecrets(t, "logs", f.logs.String(), sec)
		})
	}
}
