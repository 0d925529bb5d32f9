package e2e_test

import (
	"context"
	"encoding/json"
	"html"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/ingest"
)

// caseInfo is what a shared event must produce.
type caseInfo struct {
	name, to, secret string // secret: what the user must type ("" for the account-takeover notice)
}

func info(t testing.TB, c fixtures.Case) caseInfo {
	t.Helper()
	var ev struct {
		Request struct {
			UserAttributes map[string]string `json:"userAttributes"`
		} `json:"request"`
	}
	if err := json.Unmarshal(c.Event, &ev); err != nil {
		t.Fatal(err)
	}
	// Cognito HTML-escapes temporary passwords; the email carries the real one.
	return caseInfo{name: c.Name, to: ev.Request.UserAttributes["email"], secret: html.UnescapeString(c.Secret)}
}

// TestSharedEventsReachEveryProvider: every deliverable shared event, with
// either keyring, arrives at the provider with its recipient and its secret;
// every event that must be rejected is never enqueued nor sent.
func TestSharedEventsReachEveryProvider(t *testing.T) {
	s := newStack(t, 5)
	handlers := map[string]*ingest.Handler{"raw-aes": s.ingest("raw-aes"), "kms": s.ingest("kms")}
	for _, p := range []string{"sendgrid", "mailgun", "ses", "smtp"} {
		t.Run(p, func(t *testing.T) {
			s.clearDeliveries()
			want := map[string]caseInfo{} // by envelope id
			rejected := 0
			for _, c := range s.events.Cases {
				res, err := handlers[c.Keyring].Handle(context.Background(), c.Event)
				switch {
				case c.Deliver() && err != nil:
					t.Fatalf("%s: ingest: %v", c.Name, err)
				case !c.Deliver() && err == nil:
					t.Fatalf("%s: ingest accepted an event that must be rejected", c.Name)
				case c.Deliver():
					want[res.MessageID] = info(t, c)
				default:
					rejected++
				}
			}
			if rejected == 0 || len(want) == 0 {
				t.Fatalf("%d deliver and %d reject cases: the fixtures lack one kind", len(want), rejected)
			}
			if n := s.queued(); n != len(want) {
				t.Fatalf("%d messages enqueued, want %d (rejected events must not be)", n, len(want))
			}
			s.drain(s.dispatcher(s.dispatchEnv(p, nil)))

			got := s.deliveries()
			if len(got) != len(want) {
				t.Fatalf("%d emails delivered, want %d", len(got), len(want))
			}
			for _, d := range got {
				w, ok := want[d.ID]
				switch {
				case !ok:
					t.Errorf("delivered an email for unknown message %q", d.ID)
				case d.Provider != p:
					t.Errorf("%s: delivered by %s, want %s", w.name, d.Provider, p)
				case d.To != w.to:
					t.Errorf("%s: delivered to %q, want %q", w.name, d.To, w.to)
				case w.secret != "" && !strings.Contains(d.Text, w.secret):
					t.Errorf("%s: the text does not carry the secret %q", w.name, w.secret)
				case strings.Contains(d.Text, "&lt;") || strings.Contains(d.Text, "&amp;"):
					t.Errorf("%s: the text carries an HTML-escaped secret", w.name)
				case d.Subject == "" || d.HTML == "":
					t.Errorf("%s: no subject or HTML body", w.name)
				}
				delete(want, d.ID)
			}
			if len(want) > 0 {
				t.Errorf("never delivered: %v", want)
			}
			if dl := s.deadLetters(); len(dl) != 0 {
				t.Errorf("%d messages in the DLQ: %+v", len(dl), dl)
			}
		})
	}
}
