package providertest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/provider"
)

// SMSSender is what the SMS suite exercises: the method set dispatch needs
// of an SMS provider.
type SMSSender interface {
	Name() string
	SendSMS(ctx context.Context, m provider.SMS) (provider.Receipt, error)
}

// OptedOut is the SMS fault of a recipient who opted out (replied STOP):
// the provider refuses the message, Permanent, and provider.Suppresses
// reports true so that the number is suppressed.
const OptedOut Fault = 100

// SMSFaults lists every fault the SMS suite injects: the email ones, read
// in SMS terms (BadRecipient: the number is refused as invalid;
// PayloadRejected: the text is refused), and OptedOut.
var SMSFaults = append(slices.Clone(Faults), OptedOut)

// DeliveredSMS is a text message as the fake captured it.
type DeliveredSMS struct {
	ID       string // the provider message id the fake answered
	To, Text string
}

// SMSHarness is one SMS provider wired to a fresh fake that produces a fault.
type SMSHarness struct {
	Sender SMSSender
	Inbox  func() []DeliveredSMS // what the fake accepted
	// Secrets are credentials no error may contain.
	Secrets []string
	// RetryAfter says whether the provider's rate-limit answer carries a
	// time: then SendSMS must report exactly RetryIn; otherwise 0.
	RetryAfter bool
}

// SMS is the message the SMS suite sends: its Text holds Code.
func SMS() provider.SMS {
	return provider.SMS{
		ID:      "msg-0001",
		To:      "+14155552671",
		Text:    "Your Cogmail code is " + Code + ".",
		Trigger: "CustomSMSSender_SignUp",
	}
}

// RunSMS is Run for SMS providers: delivery, concurrency, an invalid
// message, a canceled context, each of SMSFaults' Class (and OptedOut's
// suppression), and Ping when the provider has one; no error holds the
// number, the text, the code or a credential.
func RunSMS(t *testing.T, newHarness func(t *testing.T, f Fault) SMSHarness) {
	t.Helper()
	secrets := func(h SMSHarness, m provider.SMS) []string {
		return append([]string{m.To, strings.TrimPrefix(m.To, "+"), m.Text, Code}, h.Secrets...)
	}

	t.Run("delivers", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, None)
		m := SMS()
		r, err := h.Sender.SendSMS(context.Background(), m)
		if err != nil {
			t.Fatalf("SendSMS: %v", err)
		}
		if r.ID == "" || r.Provider != h.Sender.Name() {
			t.Errorf("receipt %+v: want the provider's message id and Provider %q", r, h.Sender.Name())
		}
		got := h.Inbox()
		want := DeliveredSMS{ID: r.ID, To: m.To, Text: m.Text}
		if len(got) != 1 || got[0] != want {
			t.Fatalf("inbox = %+v, want exactly [%+v]", got, want)
		}
	})

	t.Run("delivers concurrently", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, None)
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		ids := make([]string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := SMS()
				m.To = fmt.Sprintf("+4477009000%02d", i)
				m.Text = fmt.Sprintf("Code %d", i)
				var r provider.Receipt
				r, errs[i] = h.Sender.SendSMS(context.Background(), m)
				ids[i] = r.ID
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("SendSMS: %v", err)
		}
		seen := map[string]string{}
		for _, d := range h.Inbox() {
			seen[d.To] = d.Text
		}
		for i := range n {
			if to := fmt.Sprintf("+4477009000%02d", i); seen[to] != fmt.Sprintf("Code %d", i) {
				t.Errorf("message to %s: text %q", to, seen[to])
			}
		}
		if got := len(h.Inbox()); got != n {
			t.Errorf("inbox has %d messages, want %d", got, n)
		}
		if slices.Contains(ids, "") || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != n {
			t.Errorf("receipt ids %q: want %d distinct, non-empty ids", ids, n)
		}
	})

	t.Run("invalid message is permanent", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, None)
		m := SMS()
		m.To = "0044 7700 900123"
		_, err := h.Sender.SendSMS(context.Background(), m)
		checkErr(t, h.Sender.Name(), secrets(h, m), err, provider.Permanent, 0)
		if n := len(h.Inbox()); n != 0 {
			t.Errorf("inbox has %d messages, want none", n)
		}
	})

	t.Run("canceled context", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, None)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		m := SMS()
		_, err := h.Sender.SendSMS(ctx, m)
		checkErr(t, h.Sender.Name(), secrets(h, m), err, provider.Unavailable, 0)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("errors.Is(err, context.Canceled) = false for %v", err)
		}
		if n := len(h.Inbox()); n != 0 {
			t.Errorf("inbox has %d messages, want none", n)
		}
	})

	for _, f := range SMSFaults {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, f)
			m := SMS()
			ctx := context.Background()
			if f == Timeout {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, TimeoutDeadline)
				defer cancel()
			}
			_, err := h.Sender.SendSMS(ctx, m)
			var retry time.Duration
			if f == RateLimited && h.RetryAfter {
				retry = RetryIn
			}
			e := checkErr(t, h.Sender.Name(), secrets(h, m), err, f.Want(), retry)
			answered := f.answered()
			if e != nil && answered && e.Status == 0 {
				t.Errorf("%v: Status = 0, want the provider's status", err)
			}
			if e != nil && !answered && f != Garbage && e.Status != 0 {
				t.Errorf("%v: Status = %d, want 0 (there was no answer)", err, e.Status)
			}
			if got := provider.Suppresses(err); got != (f == OptedOut) {
				t.Errorf("Suppresses(%v) = %v, want %v", err, got, f == OptedOut)
			}
			if f == Timeout && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("errors.Is(err, context.DeadlineExceeded) = false for %v", err)
			}
			if n := len(h.Inbox()); n != 0 {
				t.Errorf("inbox has %d messages, want none", n)
			}
		})
	}

	probe := newHarness(t, None)
	if _, ok := probe.Sender.(Pinger); !ok {
		return
	}
	for _, f := range []Fault{None, Unauthorized, ConnectionReset} {
		t.Run("ping "+f.String(), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, f)
			err := h.Sender.(Pinger).Ping(context.Background())
			if n := len(h.Inbox()); n != 0 {
				t.Errorf("Ping delivered %d messages", n)
			}
			if f == None {
				if err != nil {
					t.Fatalf("Ping: %v", err)
				}
				return
			}
			e := checkErr(t, h.Sender.Name(), h.Secrets, err, provider.Unavailable, 0)
			if e != nil && f.answered() && e.Status == 0 {
				t.Errorf("%v: Status = 0, want the provider's status", err)
			}
			if e != nil && !f.answered() && e.Status != 0 {
				t.Errorf("%v: Status = %d, want 0 (there was no answer)", err, e.Status)
			}
		})
	}
}

// CheckSMSRedacted checks that err (a send's failure) names neither m's
// number (with or without its "+"), nor its text, nor Code: in its text,
// its %+v and %q forms, and a slog JSON line that logs it.
func CheckSMSRedacted(t *testing.T, err error, m provider.SMS) {
	t.Helper()
	if err == nil {
		t.Fatal("nil error")
	}
	var line strings.Builder
	slog.New(slog.NewJSONHandler(&line, nil)).Error("send failed", "error", err, "provider", "x")
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%q", err), line.String()} {
		for _, secret := range []string{m.To, strings.TrimPrefix(m.To, "+"), m.Text, Code} {
			if secret != "" && strings.Contains(s, secret) {
				t.Errorf("%q holds %q", s, secret)
			}
		}
	}
}
