package mailevent_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/mailevent"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFixtures(t *testing.T) {
	sgID := func(n int) string {
		return "14c5d75ce9" + string(rune('0'+n)) + ".dfd.64b469.filter0001.16648.5515E0B88.0"
	}
	tests := []struct {
		name  string
		parse func([]byte) ([]mailevent.Event, error)
		file  string
		want  []mailevent.Event
	}{
		{"sendgrid event webhook", mailevent.ParseSendGrid, "sendgrid_events.json", []mailevent.Event{
			{Kind: mailevent.Delivered, Provider: "sendgrid", Address: "ana@example.com", ProviderMessageID: sgID(3), MessageID: "m-1", Time: time.Unix(1764403201, 0).UTC()},
			{Kind: mailevent.Bounce, Bounce: mailevent.Permanent, Provider: "sendgrid", Address: "nobody@example.org", ProviderMessageID: sgID(4), MessageID: "m-2", Time: time.Unix(1764403202, 0).UTC()},
			{Kind: mailevent.Bounce, Bounce: mailevent.Transient, Provider: "sendgrid", Address: "full@example.net", ProviderMessageID: sgID(5), MessageID: "m-3", Time: time.Unix(1764403203, 0).UTC()},
			{Kind: mailevent.Dropped, Provider: "sendgrid", Address: "old@example.com", ProviderMessageID: sgID(7), Time: time.Unix(1764403205, 0).UTC()},
			{Kind: mailevent.Complaint, Provider: "sendgrid", Address: "angry@example.com", ProviderMessageID: sgID(8), MessageID: "m-5", Time: time.Unix(1764403206, 0).UTC()},
		}},
		{"mailgun permanent failure", mailevent.ParseMailgun, "mailgun_failed_permanent.json", []mailevent.Event{
			{Kind: mailevent.Bounce, Bounce: mailevent.Permanent, Provider: "mailgun", Address: "nobody@example.org",
				ProviderMessageID: "20251129120000.1.ABCDEF@mg.example.com", MessageID: "m-2", Time: time.Unix(1764403200, 123456000).UTC()},
		}},
		{"mailgun complaint", mailevent.ParseMailgun, "mailgun_complained.json", []mailevent.Event{
			{Kind: mailevent.Complaint, Provider: "mailgun", Address: "angry@example.com",
				ProviderMessageID: "20251129120100.2.ABCDEF@mg.example.com", MessageID: "m-5", Time: time.Unix(1764403300, 500000000).UTC()},
		}},
		{"ses bounce through sns", mailevent.ParseSES, "ses_bounce_sns.json", []mailevent.Event{
			{Kind: mailevent.Bounce, Bounce: mailevent.Permanent, Provider: "ses", Address: "bounce@simulator.amazonses.com",
				ProviderMessageID: "0100017c1ee0b8ac-0b6d8a8f-1e8c-4b8b-9d9f-4c3b1a2e3f4a-000000", MessageID: "m-2", Time: time.Date(2025, 11, 29, 12, 0, 1, 0, time.UTC)},
		}},
		{"ses complaint, raw, two recipients", mailevent.ParseSES, "ses_complaint.json", []mailevent.Event{
			{Kind: mailevent.Complaint, Provider: "ses", Address: "complaint@simulator.amazonses.com",
				ProviderMessageID: "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000", Time: time.Date(2025, 11, 29, 12, 5, 1, 0, time.UTC)},
			{Kind: mailevent.Complaint, Provider: "ses", Address: "angry@example.com",
				ProviderMessageID: "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000", Time: time.Date(2025, 11, 29, 12, 5, 1, 0, time.UTC)},
		}},
		{"ses delivery", mailevent.ParseSES, "ses_delivery.json", []mailevent.Event{
			{Kind: mailevent.Delivered, Provider: "ses", Address: "success@simulator.amazonses.com",
				ProviderMessageID: "0100017c1ee0b8ac-delivery-000000", MessageID: "m-9", Time: time.Date(2025, 11, 29, 12, 10, 1, 250e6, time.UTC)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestSuppresses(t *testing.T) {
	tests := []struct {
		e    mailevent.Event
		want bool
	}{
		{mailevent.Event{Kind: mailevent.Bounce, Bounce: mailevent.Permanent}, true},
		{mailevent.Event{Kind: mailevent.Bounce, Bounce: mailevent.Transient}, false},
		{mailevent.Event{Kind: mailevent.Complaint}, true},
		{mailevent.Event{Kind: mailevent.Delivered}, false},
		{mailevent.Event{Kind: mailevent.Dropped}, false},
	}
	for _, tt := range tests {
		if got := tt.e.Suppresses(); got != tt.want {
			t.Errorf("%v.Suppresses() = %v", tt.e, got)
		}
	}
}

// TestMalformed: a body with one bad event is refused whole, with a 400
// and an error that quotes no address.
func TestMalformed(t *testing.T) {
	tests := []struct {
		name  string
		parse func([]byte) ([]mailevent.Event, error)
		body  string
	}{
		{"sendgrid not json", mailevent.ParseSendGrid, `not json`},
		{"sendgrid object instead of array", mailevent.ParseSendGrid, `{"email":"a@example.com"}`},
		{"sendgrid second event without email", mailevent.ParseSendGrid, `[{"email":"secret@example.com","timestamp":1,"event":"bounce"},{"timestamp":1,"event":"bounce"}]`},
		{"sendgrid bad address", mailevent.ParseSendGrid, `[{"email":"secret@@example.com","timestamp":1,"event":"spamreport"}]`},
		{"sendgrid no timestamp", mailevent.ParseSendGrid, `[{"email":"secret@example.com","event":"delivered"}]`},
		{"sendgrid timestamp a string", mailevent.ParseSendGrid, `[{"email":"secret@example.com","timestamp":"x","event":"delivered"}]`},
		{"sendgrid unknown bounce type", mailevent.ParseSendGrid, `[{"email":"secret@example.com","timestamp":1,"event":"bounce","type":"odd"}]`},
		{"sendgrid no event name", mailevent.ParseSendGrid, `[{"email":"secret@example.com","timestamp":1}]`},
		{"mailgun no signature", mailevent.ParseMailgun, `{"event-data":{"event":"failed"}}`},
		{"mailgun no event data", mailevent.ParseMailgun, `{"signature":{"timestamp":"1","token":"t","signature":"s"}}`},
		{"mailgun unknown severity", mailevent.ParseMailgun, `{"signature":{},"event-data":{"event":"failed","severity":"odd","recipient":"secret@example.com","timestamp":1}}`},
		{"mailgun no recipient", mailevent.ParseMailgun, `{"signature":{},"event-data":{"event":"complained","timestamp":1}}`},
		{"mailgun no timestamp", mailevent.ParseMailgun, `{"signature":{},"event-data":{"event":"complained","recipient":"secret@example.com"}}`},
		{"ses not json", mailevent.ParseSES, `[`},
		{"ses sns without message", mailevent.ParseSES, `{"Type":"Notification"}`},
		{"ses sns message not json", mailevent.ParseSES, `{"Type":"Notification","Message":"nope"}`},
		{"ses no type", mailevent.ParseSES, `{"mail":{}}`},
		{"ses bounce without bounce", mailevent.ParseSES, `{"eventType":"Bounce","mail":{}}`},
		{"ses bounce no recipients", mailevent.ParseSES, `{"eventType":"Bounce","bounce":{"bounceType":"Permanent","timestamp":"2026-11-29T12:00:00Z"}}`},
		{"ses second recipient bad", mailevent.ParseSES, `{"eventType":"Complaint","complaint":{"timestamp":"2026-11-29T12:00:00Z","complainedRecipients":[{"emailAddress":"secret@example.com"},{"emailAddress":"nope"}]}}`},
		{"ses bad timestamp", mailevent.ParseSES, `{"eventType":"Complaint","complaint":{"timestamp":"yesterday","complainedRecipients":[{"emailAddress":"secret@example.com"}]}}`},
		{"ses unknown bounce type", mailevent.ParseSES, `{"eventType":"Bounce","bounce":{"bounceType":"Odd","timestamp":"2026-11-29T12:00:00Z","bouncedRecipients":[{"emailAddress":"secret@example.com"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := tt.parse([]byte(tt.body))
			if err == nil {
				t.Fatalf("no error; events %v", evs)
			}
			if evs != nil {
				t.Errorf("events returned with the error: %v", evs)
			}
			if !errors.Is(err, mailevent.ErrMalformed) || mailevent.Status(err) != 400 {
				t.Errorf("err %v: want ErrMalformed, status 400 (got %d)", err, mailevent.Status(err))
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error quotes the address: %v", err)
			}
		})
	}
}

func TestSkipped(t *testing.T) {
	tests := []struct {
		name  string
		parse func([]byte) ([]mailevent.Event, error)
		body  string
	}{
		{"sendgrid open", mailevent.ParseSendGrid, `[{"email":"a@example.com","timestamp":1,"event":"open"}]`},
		{"sendgrid empty array", mailevent.ParseSendGrid, `[]`},
		{"mailgun opened", mailevent.ParseMailgun, `{"signature":{},"event-data":{"event":"opened","recipient":"a@example.com","timestamp":1}}`},
		{"ses send", mailevent.ParseSES, `{"eventType":"Send","mail":{}}`},
		{"sns subscription confirmation", mailevent.ParseSES, `{"Type":"SubscriptionConfirmation","Message":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := tt.parse([]byte(tt.body))
			if err != nil || len(evs) != 0 {
				t.Fatalf("got %v, %v; want no events, no error", evs, err)
			}
		})
	}
}

func TestMailgunSuppressedIsDropped(t *testing.T) {
	evs, err := mailevent.ParseMailgun([]byte(`{"signature":{},"event-data":{"event":"failed","severity":"permanent","reason":"suppress-bounce","recipient":"a@example.com","timestamp":1}}`))
	if err != nil || len(evs) != 1 || evs[0].Kind != mailevent.Dropped || evs[0].Suppresses() {
		t.Fatalf("got %+v, %v; want one Dropped event that does not suppress", evs, err)
	}
}
