package dispatch_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/provider"
)

// utf8Sender is a sender that answers dispatch.UTF8Recipients.
type utf8Sender struct {
	*sender
	yes bool
	err error
}

func (u *utf8Sender) UTF8Recipients(context.Context) (bool, error) { return u.yes, u.err }

// TestRecipientAddresses: the domain reaches every provider in IDNA ASCII
// form; a non-ASCII local part reaches only a provider that says it takes
// one, and with none the message is dead-lettered at once as
// address-unsupported, with no provider called.
func TestRecipientAddresses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		to      string
		senders func() []dispatch.Sender // in routing order; all named in f.senders
		wantBy  string                   // the provider that sends, "" for none
		wantTo  string
		want    dispatch.Reason // when nothing is sent
		retried bool
	}{
		{"unicode domain to a plain provider", "juergen@bücher.example", nil, "ses", "juergen@xn--bcher-kva.example", "", false},
		{"upper-case domain", "Ana@Example.COM", nil, "ses", "Ana@example.com", "", false},
		{"non-ASCII local part, no provider takes one", "jürgen@bücher.example", nil, "", "", envelope.ReasonAddressUnsupported, false},
		{"non-ASCII local part, providers that say no", "jürgen@example.com", func() []dispatch.Sender {
			return []dispatch.Sender{&utf8Sender{sender: newSender("ses")}, &utf8Sender{sender: newSender("mailgun")}}
		}, "", "", envelope.ReasonAddressUnsupported, false},
		{"non-ASCII local part, the second provider takes one", "jürgen@bücher.example", func() []dispatch.Sender {
			return []dispatch.Sender{newSender("ses"), &utf8Sender{sender: newSender("mailgun"), yes: true}}
		}, "mailgun", "jürgen@xn--bcher-kva.example", "", false},
		{"non-ASCII local part, the relay did not answer", "jürgen@example.com", func() []dispatch.Sender {
			return []dispatch.Sender{newSender("ses"), &utf8Sender{sender: newSender("mailgun"), err: errors.New("connection refused")}}
		}, "", "", dispatch.ReasonUnavailable, true},
		{"a domain without an IDNA form", "a@xn--zz-.example", nil, "", "", envelope.ReasonAddressUnsupported, false},
	}
	// The sender's domain goes in IDNA ASCII form too, and a non-ASCII
	// local part there needs a provider that takes one.
	t.Run("sender", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			from, wantFrom string
			sent           bool
		}{{"no-reply@Bücher.example", "no-reply@xn--bcher-kva.example", true}, {"bücher@example.com", "", false}} {
			ses := newSender("ses")
			f := newFixture(t, ses)
			h := f.handler(func(_ *dispatch.Deps, o *dispatch.Options) { o.From.Email = tt.from })
			rec, _ := f.message()
			if _, err := h.Handle(context.Background(), batch(rec)); err != nil {
				t.Fatal(err)
			}
			switch sent := ses.Sent(); {
			case tt.sent && (len(sent) != 1 || sent[0].From.Email != tt.wantFrom):
				t.Errorf("From %s: sent %+v, want one message from %s", tt.from, sent, tt.wantFrom)
			case !tt.sent && (len(sent) != 0 || len(f.queue.DLQ()) != 1 || reason(f.queue.DLQ()[0]) != envelope.ReasonAddressUnsupported):
				t.Errorf("From %s: sent %d, DLQ %d; want it dead-lettered as address-unsupported", tt.from, len(sent), len(f.queue.DLQ()))
			}
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plain := []*sender{newSender("ses"), newSender("mailgun")}
			f := newFixture(t, plain...)
			var senders []dispatch.Sender
			if tt.senders != nil {
				senders = tt.senders()
			} else {
				senders = []dispatch.Sender{plain[0], plain[1]}
			}
			h := f.handler(func(d *dispatch.Deps, _ *dispatch.Options) { d.Senders = senders })
			rec, sec := f.message(func(_ *envelope.Envelope, p *envelope.Payload) { p.To = tt.to })
			resp, err := h.Handle(context.Background(), batch(rec))
			if err != nil {
				t.Fatal(err)
			}
			calls := map[string]int{}
			var sentTo string
			for _, s := range senders {
				in := s.(interface{ Calls() int })
				calls[s.Name()] = in.Calls()
				if sent := s.(interface{ Sent() []provider.Message }); len(sent.Sent()) > 0 {
					sentTo = sent.Sent()[0].To
				}
			}
			if tt.wantBy != "" {
				if calls[tt.wantBy] != 1 || sentTo != tt.wantTo {
					t.Fatalf("calls %v, sent to %q; want one call of %s, to %q", calls, sentTo, tt.wantBy, tt.wantTo)
				}
				for name, n := range calls {
					if name != tt.wantBy && n != 0 {
						t.Errorf("%s was called %d times", name, n)
					}
				}
				return
			}
			for name, n := range calls {
				if n != 0 {
					t.Errorf("%s was called %d times for an address no provider takes", name, n)
				}
			}
			if got := len(reported(resp)) == 1; got != tt.retried {
				t.Errorf("retried = %v, want %v", got, tt.retried)
			}
			dlq := f.queue.DLQ()
			if tt.retried {
				if len(dlq) != 0 {
					t.Errorf("%d DLQ messages, want none", len(dlq))
				}
				return
			}
			if len(dlq) != 1 || reason(dlq[0]) != tt.want {
				t.Fatalf("DLQ %d messages (reason %q), want one with reason %s", len(dlq), func() dispatch.Reason {
					if len(dlq) == 0 {
						return ""
					}
					return reason(dlq[0])
				}(), tt.want)
			}
			detail := aws.ToString(dlq[0].MessageAttributes[envelope.AttrError].StringValue)
			if detail == "" || strings.Contains(detail, tt.to) {
				t.Errorf("cogmail.error = %q: want a reason, without the address", detail)
			}
			assertNoSecrets(t, "logs", f.logs.String(), sec)
		})
	}
}
