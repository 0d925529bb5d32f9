package dispatch_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/routing"
	"github.com/cogmail/cogmail/pkg/sendlimit"
	"github.com/cogmail/cogmail/pkg/suppression"
)

// guarded is a fixture handler with an in-memory suppression list and
// counters, the default policy and the given limit.
func guarded(f *fixture, list *suppression.Memory, limit sendlimit.Limit, rc *routing.Config) *dispatch.Handler {
	return f.handler(func(d *dispatch.Deps, o *dispatch.Options) {
		d.Suppressions = list
		d.Recipients = sendlimit.NewMemory(f.clock.Now)
		o.Suppression = suppression.DefaultPolicy()
		o.RecipientLimit = limit
		if rc != nil {
			d.Routes = routing.Static(*rc)
		}
	})
}

func to(addr string, trigger cognito.Trigger) func(*envelope.Envelope, *envelope.Payload) {
	return func(e *envelope.Envelope, p *envelope.Payload) { e.Trigger, p.To = trigger, addr }
}

func TestSuppressedIsNotSentRetriedOrDeadLettered(t *testing.T) {
	s := newSender("ses")
	f := newFixture(t, s)
	list := suppression.NewMemory(f.clock.Now)
	ctx := context.Background()
	if err := list.Add(ctx, suppression.Entry{Address: "gone@example.com", Reason: suppression.Bounce, Provider: "ses", At: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	h := guarded(f, list, sendlimit.Limit{}, nil)
	// The list is canonical: another case of the domain is the same address.
	rec, sec := f.message(to("gone@EXAMPLE.com", cognito.ForgotPassword))
	ok, _ := f.message(to("other@example.com", cognito.ForgotPassword))
	resp, err := h.Handle(ctx, batch(rec, ok))
	if err != nil {
		t.Fatal(err)
	}
	if len(reported(resp)) != 0 || len(f.queue.DLQ()) != 0 || len(f.queue.Visibility()) != 0 {
		t.Fatalf("suppressed message retried or dead-lettered: %v, %d DLQ", reported(resp), len(f.queue.DLQ()))
	}
	if sent := s.Sent(); len(sent) != 1 || sent[0].To != "other@example.com" {
		t.Fatalf("sent %d messages; want only the unsuppressed one", len(sent))
	}
	c := counts(f.emf.String())
	if c["Suppressed{Reason=bounce,Trigger=ForgotPassword}"] != 1 || c["Skipped{Reason=suppressed}"] != 1 {
		t.Errorf("metrics %v", c)
	}
	assertNoSecrets(t, "logs", f.logs.String(), sec)
	found := false
	for _, l := range logLines(t, f.logs.String()) {
		if l["msg"] == "not sent; deleted from the queue" && l["reason"] == "suppressed" {
			found = true
		}
	}
	if !found {
		t.Errorf("no 'not sent' line with reason suppressed:\n%s", f.logs)
	}
}

func TestComplaintPolicyPerTrigger(t *testing.T) {
	tests := []struct {
		trigger cognito.Trigger
		sent    bool
	}{
		{cognito.ForgotPassword, true},
		{cognito.Authentication, true},
		{cognito.VerifyUserAttribute, true},
		{cognito.UpdateUserAttribute, true},
		{cognito.AdminCreateUser, false},
		{cognito.AccountTakeOverNotification, false},
		{cognito.SignUp, false},
		{cognito.ResendCode, false},
	}
	for _, tt := range tests {
		t.Run(tt.trigger.Short(), func(t *testing.T) {
			s := newSender("ses")
			f := newFixture(t, s)
			list := suppression.NewMemory(f.clock.Now)
			_ = list.Add(context.Background(), suppression.Entry{Address: "angry@example.com", Reason: suppression.Complaint, Provider: "sendgrid", At: f.clock.Now()})
			h := guarded(f, list, sendlimit.Default, nil)
			rec, _ := f.message(to("angry@example.com", tt.trigger))
			if _, err := h.Handle(context.Background(), batch(rec)); err != nil {
				t.Fatal(err)
			}
			if got := len(s.Sent()) == 1; got != tt.sent {
				t.Fatalf("sent=%v, want %v", got, tt.sent)
			}
		})
	}
}

func TestRecipientLimit(t *testing.T) {
	s := newSender("ses")
	f := newFixture(t, s)
	h := guarded(f, suppression.NewMemory(f.clock.Now), sendlimit.Limit{N: 3, Window: time.Hour}, nil)
	ctx := context.Background()
	var recs []events.SQSMessage
	for range 4 {
		rec, _ := f.message(to("victim@example.com", cognito.ResendCode))
		recs = append(recs, rec)
	}
	// Sequential, so which message is throttled is known.
	for _, r := range recs {
		if resp, err := h.Handle(ctx, batch(r)); err != nil || len(reported(resp)) != 0 {
			t.Fatalf("Handle: %v %v", reported(resp), err)
		}
	}
	if n := len(s.Sent()); n != 3 {
		t.Fatalf("%d emails for 4 requests with a limit of 3", n)
	}
	// A redelivery of a sent message is a duplicate, neither retried nor
	// counted again.
	if resp, _ := h.Handle(ctx, batch(recs[0])); len(reported(resp)) != 0 || len(s.Sent()) != 3 {
		t.Fatal("a redelivered message was retried or sent again")
	}
	c := counts(f.emf.String())
	if c["Throttled{Trigger=ResendCode}"] != 1 || len(f.queue.DLQ()) != 0 {
		t.Errorf("Throttled %v, DLQ %d", c["Throttled{Trigger=ResendCode}"], len(f.queue.DLQ()))
	}
	// Takeover notices carry no code: never limited.
	rec, _ := f.message(to("victim@example.com", cognito.AccountTakeOverNotification))
	if _, err := h.Handle(ctx, batch(rec)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Sent()); n != 4 {
		t.Fatalf("sent %d; the takeover notice (no code) should not be limited", n)
	}
	// A new window.
	f.clock.Add(time.Hour)
	rec, _ = f.message(to("victim@example.com", cognito.ResendCode))
	if _, err := h.Handle(ctx, batch(rec)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Sent()); n != 5 {
		t.Fatalf("sent %d after the window passed", n)
	}
}

func TestRoutingOverridesRecipientLimit(t *testing.T) {
	s := newSender("ses")
	f := newFixture(t, s)
	one := sendlimit.Limit{N: 1, Window: time.Hour}
	h := guarded(f, suppression.NewMemory(f.clock.Now), sendlimit.Limit{N: 10, Window: time.Hour}, &routing.Config{Providers: []string{"ses"}, RecipientLimit: &one})
	for range 3 {
		rec, _ := f.message(to("x@example.com", cognito.SignUp))
		_, _ = h.Handle(context.Background(), batch(rec))
	}
	if n := len(s.Sent()); n != 1 {
		t.Fatalf("sent %d with a live limit of 1", n)
	}
}

type failingGuard struct{}

func (failingGuard) Lookup(context.Context, string) ([]suppression.Entry, error) {
	return nil, errors.New("table unreachable")
}
func (failingGuard) Take(context.Context, string, string, sendlimit.Limit) (bool, error) {
	return false, errors.New("table unreachable")
}

// TestGuardFailsOpen: a list or counter that cannot be read does not stop
// a code.
func TestGuardFailsOpen(t *testing.T) {
	s := newSender("ses")
	f := newFixture(t, s)
	h := f.handler(func(d *dispatch.Deps, o *dispatch.Options) {
		d.Suppressions, d.Recipients = failingGuard{}, failingGuard{}
		o.RecipientLimit = sendlimit.Default
	})
	rec, _ := f.message()
	if resp, err := h.Handle(context.Background(), batch(rec)); err != nil || len(reported(resp)) != 0 {
		t.Fatal(err, reported(resp))
	}
	if len(s.Sent()) != 1 || counts(f.emf.String())["GuardError"] != 2 {
		t.Fatalf("sent %d, GuardError %v", len(s.Sent()), counts(f.emf.String())["GuardError"])
	}
}
