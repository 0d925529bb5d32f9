// Package providertest is the conformance suite every provider passes
// against its fake: delivery, each fault's Class and retry time, context
// handling, and that no error string leaks the body, the recipient or a
// credential. A new provider is a new package plus one line in its test:
//
//	func TestConformance(t *testing.T) { providertest.Run(t, harness) }
package providertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/provider"
)

// Sender is what the suite exercises: the method set the dispatcher needs.
type Sender interface {
	Name() string
	Send(ctx context.Context, m provider.Message) (provider.Receipt, error)
}

// Fault is a failure the harness makes its fake produce, in the provider's
// own terms (its status codes, headers, error bodies or SMTP replies).
type Fault int

const (
	None            Fault = iota // the fake accepts the message
	ServerError                  // an outage: HTTP 5xx; SMTP 451 at DATA
	Unauthorized                 // bad credentials: HTTP 401 (SES 403 UnrecognizedClientException); SMTP 535 at AUTH
	Forbidden                    // valid credentials without permission: HTTP 403; SMTP sender refused at MAIL
	RateLimited                  // throttled: HTTP 429 with the provider's headers saying RetryIn from Now(); SMTP 421
	BadRecipient                 // the recipient is rejected: HTTP 400; SMTP 550 at RCPT
	PayloadRejected              // the payload is rejected: HTTP 400/413; SMTP 554 at DATA
	ConnectionReset              // the connection is reset (TCP RST) instead of an answer
	Timeout                      // no answer at all; Send runs with a short context deadline
	Garbage                      // an answer that is not the provider's protocol (an HTML page; SMTP: an HTTP line)
)

// Faults lists every fault the suite injects.
var Faults = []Fault{ServerError, Unauthorized, Forbidden, RateLimited, BadRecipient, PayloadRejected, ConnectionReset, Timeout, Garbage}

func (f Fault) String() string {
	switch f {
	case None:
		return "None"
	case ServerError:
		return "ServerError"
	case Unauthorized:
		return "Unauthorized"
	case Forbidden:
		return "Forbidden"
	case RateLimited:
		return "RateLimited"
	case BadRecipient:
		return "BadRecipient"
	case PayloadRejected:
		return "PayloadRejected"
	case ConnectionReset:
		return "ConnectionReset"
	case Timeout:
		return "Timeout"
	case Garbage:
		return "Garbage"
	case OptedOut:
		return "OptedOut"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Want is the Class a provider must report for f.
func (f Fault) Want() provider.Class {
	switch f {
	case None:
		return 0
	case RateLimited:
		return provider.RateLimited
	case BadRecipient, PayloadRejected, OptedOut:
		return provider.Permanent
	}
	return provider.Unavailable
}

// answered reports whether the fault is an answer from the provider (so the
// error carries its status).
func (f Fault) answered() bool {
	switch f {
	case ServerError, Unauthorized, Forbidden, RateLimited, BadRecipient, PayloadRejected, OptedOut:
		return true
	}
	return false
}

// RetryIn is the wait the fakes' rate-limit answers ask for, measured from Now.
const RetryIn = 30 * time.Second

var now = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

// Now is the fixed clock a harness injects into both its fake and its
// provider, so an absolute reset time reads as exactly RetryIn.
func Now() time.Time { return now }

// Delivered is a message as the fake captured it.
type Delivered struct {
	ID                      string // the provider message id the fake answered (or, for SMTP, the Message-ID it received)
	To, Subject, Text, HTML string
}

// Harness is one provider wired to a fresh fake that produces a fault.
type Harness struct {
	Sender Sender
	Inbox  func() []Delivered // what the fake accepted
	// Secrets are credentials (API key, password) no error may contain.
	Secrets []string
	// RetryAfter says whether the provider's rate-limit answer carries a
	// time: then Send must report exactly RetryIn; otherwise 0.
	RetryAfter bool
}

// Code is the verification code inside Message's body: no error may contain it.
const Code = "482916"

// Message is the message the suite sends.
func Message() provider.Message {
	return provider.Message{
		ID:      "msg-0001",
		From:    provider.Address{Email: "no-reply@cogmail.example", Name: "Cogmail"},
		To:      "ada.lovelace@example.org",
		ReplyTo: provider.Address{Email: "support@cogmail.example"},
		Subject: "Your verification code",
		Text:    "Your verification code is " + Code + ".",
		HTML:    "<p>Your verification code is <b>" + Code + "</b>.</p>",
		Tags:    map[string]string{"trigger": "CustomEmailSender_SignUp"},
	}
}

// TimeoutDeadline is the context deadline Send gets under the Timeout fault.
const TimeoutDeadline = 300 * time.Millisecond

// Run runs the suite. newHarness builds a provider and its own fake with f
// in force; the harness stops its fake with t.Cleanup.
func Run(t *testing.T, newHarness func(t *testing.T, f Fault) Harness) {
	t.Helper()

	t.Run("delivers", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, None)
		m := Message()
		r, err := h.Sender.Send(context.Background(), m)
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		if r.ID == "" || r.Provider != h.Sender.Name() {
			t.Errorf("receipt %+v: want the provider's message id and Provider %q", r, h.Sender.Name())
		}
		got := h.Inbox()
		want := Delivered{ID: r.ID, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML}
		if len(got) != 1 || got[0] != want {
			t.Fatalf("inbox = %+v, want exactly [%+v] (the receipt's id is the one the fake answered)", got, want)
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
				m := Message()
				m.To = fmt.Sprintf("user%d@example.org", i)
				m.Subject = fmt.Sprintf("Code %d", i)
				var r provider.Receipt
				r, errs[i] = h.Sender.Send(context.Background(), m)
				ids[i] = r.ID
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("Send: %v", err)
		}
		seen := map[string]string{}
		for _, d := range h.Inbox() {
			seen[d.To] = d.Subject
		}
		for i := range n {
			if to := fmt.Sprintf("user%d@example.org", i); seen[to] != fmt.Sprintf("Code %d", i) {
				t.Errorf("message to %s: subject %q", to, seen[to])
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
		m := Message()
		m.To = "not an address"
		_, err := h.Sender.Send(context.Background(), m)
		check(t, h, m, err, provider.Permanent, 0)
		if n := len(h.Inbox()); n != 0 {
			t.Errorf("inbox has %d messages, want none", n)
		}
	})

	t.Run("canceled context", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, None)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		m := Message()
		_, err := h.Sender.Send(ctx, m)
		check(t, h, m, err, provider.Unavailable, 0)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("errors.Is(err, context.Canceled) = false for %v", err)
		}
		if n := len(h.Inbox()); n != 0 {
			t.Errorf("inbox has %d messages, want none", n)
		}
	})

	for _, f := range Faults {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, f)
			m := Message()
			ctx := context.Background()
			if f == Timeout {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, TimeoutDeadline)
				defer cancel()
			}
			_, err := h.Sender.Send(ctx, m)
			var retry time.Duration
			if f == RateLimited && h.RetryAfter {
				retry = RetryIn
			}
			e := check(t, h, m, err, f.Want(), retry)
			if e != nil && f.answered() && e.Status == 0 {
				t.Errorf("%v: Status = 0, want the provider's status", err)
			}
			if e != nil && !f.answered() && f != Garbage && e.Status != 0 {
				t.Errorf("%v: Status = %d, want 0 (there was no answer)", err, e.Status)
			}
			if f == Timeout && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("errors.Is(err, context.DeadlineExceeded) = false for %v", err)
			}
			if n := len(h.Inbox()); n != 0 {
				t.Errorf("inbox has %d messages, want none", n)
			}
		})
	}

	runPing(t, newHarness)
}

// Pinger is a provider that can check its configuration without sending.
type Pinger interface {
	Ping(ctx context.Context) error
}

// runPing checks a Pinger, when the provider is one: with no fault the
// ping succeeds, bad credentials are Unavailable with the provider's
// status (a misconfiguration: fail over), a reset connection is
// Unavailable with no status; nothing is delivered and no error holds a
// secret.
func runPing(t *testing.T, newHarness func(t *testing.T, f Fault) Harness) {
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
			e := check(t, h, Message(), err, provider.Unavailable, 0)
			if e != nil && f.answered() && e.Status == 0 {
				t.Errorf("%v: Status = 0, want the provider's status", err)
			}
			if e != nil && !f.answered() && e.Status != 0 {
				t.Errorf("%v: Status = %d, want 0 (there was no answer)", err, e.Status)
			}
		})
	}
}

// check asserts the class, the retry time, the provider name and that the
// error string holds none of the message's secrets.
func check(t *testing.T, h Harness, m provider.Message, err error, class provider.Class, retry time.Duration) *provider.Error {
	t.Helper()
	return checkErr(t, h.Sender.Name(), append([]string{m.To, m.Text, m.HTML, Code}, h.Secrets...), err, class, retry)
}

// checkErr asserts that err is a *provider.Error of class and retry time
// from the provider name whose text holds none of secrets.
func checkErr(t *testing.T, name string, secrets []string, err error, class provider.Class, retry time.Duration) *provider.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("Send: nil error, want %v", class)
	}
	var e *provider.Error
	if !errors.As(err, &e) {
		t.Fatalf("Send: %T %v is not a *provider.Error", err, err)
	}
	if got := provider.ClassOf(err); got != class {
		t.Errorf("ClassOf(%v) = %v, want %v", err, got, class)
	}
	if got := provider.RetryAfter(err); got != retry {
		t.Errorf("RetryAfter(%v) = %v, want %v", err, got, retry)
	}
	if e.Provider != name {
		t.Errorf("Provider = %q, want %q", e.Provider, name)
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%q", err)} {
		if !strings.HasPrefix(strings.Trim(s, `"`), name+": ") {
			t.Errorf("error %q does not start with the provider name", s)
		}
		for _, secret := range secrets {
			if secret != "" && strings.Contains(s, secret) {
				t.Errorf("error %q contains the secret %q", s, secret)
			}
		}
	}
	return e
}

// CheckPing checks what a provider's Ping answered in one case of its own
// table: nothing delivered (sent is the fake's message count), then no error
// when want.Class is zero, else a *provider.Error of want's class and status
// (and code, when want.Code is set) whose text and reason hold none of
// secrets.
func CheckPing(t *testing.T, err error, sent int, want provider.Error, secrets ...string) {
	t.Helper()
	if sent != 0 {
		t.Errorf("Ping delivered %d messages", sent)
	}
	if want.Class == 0 {
		if err != nil {
			t.Fatalf("Ping: %v", err)
		}
		return
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("Ping: %v, want a *provider.Error", err)
	}
	if pe.Class != want.Class || pe.Status != want.Status || (want.Code != "" && pe.Code != want.Code) {
		t.Errorf("Ping: class %v status %d code %q, want %v %d %q (%v)", pe.Class, pe.Status, pe.Code, want.Class, want.Status, want.Code, err)
	}
	for _, s := range secrets {
		if s != "" && (strings.Contains(err.Error(), s) || strings.Contains(pe.Reason, s)) {
			t.Errorf("Ping error holds a secret: %v", err)
		}
	}
}

// CheckAddresses checks what a provider takes of international addresses,
// against its fake (newHarness with None): a domain in IDNA ASCII form is
// delivered as is; an address whose local part is not ASCII is delivered
// as is when utf8, and otherwise refused as Permanent with nothing
// delivered (what the real provider answers, so that the local stack shows
// the same failure). The provider's UTF8Recipients must say utf8.
func CheckAddresses(t *testing.T, newHarness func(t *testing.T, f Fault) Harness, utf8 bool) {
	t.Helper()
	t.Run("capability", func(t *testing.T) {
		h := newHarness(t, None)
		c, ok := h.Sender.(interface {
			UTF8Recipients(context.Context) (bool, error)
		})
		if !ok {
			t.Fatalf("%s has no UTF8Recipients: dispatch would never hand it a non-ASCII local part", h.Sender.Name())
		}
		if got, err := c.UTF8Recipients(context.Background()); err != nil || got != utf8 {
			t.Errorf("UTF8Recipients = %v, %v; want %v", got, err, utf8)
		}
	})
	t.Run("IDNA ASCII domain", func(t *testing.T) {
		h := newHarness(t, None)
		m := Message()
		m.To = "juergen@xn--bcher-kva.example"
		if _, err := h.Sender.Send(context.Background(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got := h.Inbox(); len(got) != 1 || got[0].To != m.To {
			t.Errorf("delivered %+v, want one message to %s", got, m.To)
		}
	})
	t.Run("non-ASCII local part", func(t *testing.T) {
		h := newHarness(t, None)
		m := Message()
		m.To = "jürgen@xn--bcher-kva.example"
		_, err := h.Sender.Send(context.Background(), m)
		if utf8 {
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if got := h.Inbox(); len(got) != 1 || got[0].To != m.To {
				t.Errorf("delivered %+v, want one message to %s", got, m.To)
			}
			return
		}
		check(t, h, m, err, provider.Permanent, 0)
		if got := h.Inbox(); len(got) != 0 {
			t.Errorf("delivered %d messages, want none", len(got))
		}
	})
}
