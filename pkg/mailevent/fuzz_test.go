package mailevent_test

import (
	"errors"
	"testing"

	"github.com/cogmail/cogmail/pkg/mailevent"
)

// fuzzParser checks what every parser promises for any input: events or
// an error, never both; an error is ErrMalformed (400); every event has a
// kind, a provider, an address and a time.
func fuzzParser(f *testing.F, parse func([]byte) ([]mailevent.Event, error), seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := parse(b)
		if err != nil {
			if evs != nil {
				t.Fatalf("events with an error: %v", err)
			}
			if !errors.Is(err, mailevent.ErrMalformed) {
				t.Fatalf("error is not ErrMalformed: %v", err)
			}
			return
		}
		for _, e := range evs {
			if e.Kind == "" || e.Provider == "" || e.Address == "" || e.Time.IsZero() {
				t.Fatalf("incomplete event %+v", e)
			}
			if (e.Kind == mailevent.Bounce) != (e.Bounce != "") {
				t.Fatalf("bounce type on a %s event", e.Kind)
			}
		}
	})
}

func FuzzParseSendGrid(f *testing.F) {
	fuzzParser(f, mailevent.ParseSendGrid, string(fixture(f, "sendgrid_events.json")), `[]`, `[{"event":"bounce"}]`, `[{"email":"a@b.co","timestamp":1,"event":"spamreport"}]`)
}

func FuzzParseMailgun(f *testing.F) {
	fuzzParser(f, mailevent.ParseMailgun, string(fixture(f, "mailgun_failed_permanent.json")), string(fixture(f, "mailgun_complained.json")), `{"signature":{},"event-data":{}}`)
}

func FuzzParseSES(f *testing.F) {
	fuzzParser(f, mailevent.ParseSES, string(fixture(f, "ses_bounce_sns.json")), string(fixture(f, "ses_complaint.json")), string(fixture(f, "ses_delivery.json")), `{"Type":"Notification","Message":"{}"}`)
}
