package twilio_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/mailevent"
	"github.com/cogmail/cogmail/pkg/provider/providertest"
	"github.com/cogmail/cogmail/pkg/provider/twilio"
	"github.com/cogmail/cogmail/pkg/provider/twilio/twiliofake"
)

var now = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// TestStatusCallbackEndToEnd: a message sent with a status callback; the
// fake posts its failed status (21610) to the callback, signed; the
// receiver verifies the signature over its public URL and reads a
// permanent bounce for the number with our message id. A forged or
// replayed-elsewhere callback is refused.
func TestStatusCallbackEndToEnd(t *testing.T) {
	verifier, err := twilio.NewCallbackVerifier(authToken)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		events []mailevent.Event
		public string // the URL Twilio is given, as the receiver knows it
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, "bad form", 400)
			return
		}
		full := public + "?" + r.URL.RawQuery
		if err := verifier.Verify(full, form, r.Header.Get(twilio.SignatureHeader)); err != nil {
			http.Error(w, err.Error(), mailevent.Status(err))
			return
		}
		evs, err := twilio.ParseCallback(full, form, now)
		if err != nil {
			http.Error(w, err.Error(), mailevent.Status(err))
			return
		}
		mu.Lock()
		events = append(events, evs...)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	public = recv.URL + "/twilio"

	fake := twiliofake.New(fakeOptions())
	defer fake.Close()
	cfg := config(fake)
	cfg.StatusCallback = public
	p, err := twilio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := providertest.SMS()
	r, err := p.SendSMS(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if code, err := fake.SendStatus(ctx, r.ID, "sent", 0); err != nil || code != http.StatusNoContent {
		t.Fatalf("sent callback: %d %v", code, err)
	}
	if code, err := fake.SendStatus(ctx, r.ID, "undelivered", twilio.CodeUnsubscribed); err != nil || code != http.StatusNoContent {
		t.Fatalf("undelivered callback: %d %v", code, err)
	}
	mu.Lock()
	got := append([]mailevent.Event(nil), events...)
	mu.Unlock()
	want := mailevent.Event{Kind: mailevent.Bounce, Bounce: mailevent.Permanent, Provider: "twilio", Address: m.To, ProviderMessageID: r.ID, MessageID: m.ID, Time: now}
	if len(got) != 1 || got[0] != want || !got[0].Suppresses() {
		t.Fatalf("events %+v, want only %+v (sent has no event)", got, want)
	}

	// Signed by another token: 401.
	other := twiliofake.New(twiliofake.Options{AccountSID: accountSID, AuthToken: "0000feed0000feed0000feed0000feed"})
	defer other.Close()
	cfg.BaseURL = other.URL()
	cfg.AuthToken = "0000feed0000feed0000feed0000feed"
	p2, _ := twilio.New(cfg)
	r2, err := p2.SendSMS(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if code, err := other.SendStatus(ctx, r2.ID, "failed", 30005); err != nil || code != http.StatusUnauthorized {
		t.Errorf("forged callback: %d %v, want 401", code, err)
	}
}

func TestVerify(t *testing.T) {
	v, err := twilio.NewCallbackVerifier(authToken)
	if err != nil {
		t.Fatal(err)
	}
	u := "https://abc.lambda-url.eu-west-1.on.aws/twilio?cogmail_message_id=msg-1"
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"failed"}, "To": {"+14155552671"}, "ErrorCode": {"30005"}}
	sig := twiliofake.Sign(authToken, u, form)
	tests := []struct {
		name string
		url  string
		form url.Values
		sig  string
		kind error
	}{
		{"valid", u, form, sig, nil},
		{"valid with the default port", "https://abc.lambda-url.eu-west-1.on.aws:443/twilio?cogmail_message_id=msg-1", form, sig, nil},
		{"other URL", "https://abc.lambda-url.eu-west-1.on.aws/other?cogmail_message_id=msg-1", form, sig, mailevent.ErrSignature},
		{"other query", "https://abc.lambda-url.eu-west-1.on.aws/twilio?cogmail_message_id=msg-2", form, sig, mailevent.ErrSignature},
		{"changed field", u, url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}, "To": {"+14155552671"}, "ErrorCode": {"30005"}}, sig, mailevent.ErrSignature},
		{"missing", u, form, "", mailevent.ErrSignature},
		{"repeated field", u, url.Values{"To": {"+14155552671", "+14155552672"}}, sig, mailevent.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Verify(tt.url, tt.form, tt.sig)
			if tt.kind == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("Verify = %v, want %v", err, tt.kind)
			}
			if strings.Contains(err.Error(), "+1415") || strings.Contains(err.Error(), sig) {
				t.Errorf("error %q quotes the number or the signature", err)
			}
		})
	}
	if _, err := twilio.NewCallbackVerifier(""); err == nil {
		t.Error("NewCallbackVerifier(\"\"): nil error")
	}
}

func TestParseCallback(t *testing.T) {
	cb := "https://events.example.com/twilio?cogmail_message_id=msg-7"
	base := func(kv ...string) url.Values {
		f := url.Values{"MessageSid": {"SM1"}, "AccountSid": {accountSID}, "To": {"+447700900123"}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	ev := func(kind mailevent.Kind, b mailevent.BounceType) []mailevent.Event {
		return []mailevent.Event{{Kind: kind, Bounce: b, Provider: "twilio", Address: "+447700900123", ProviderMessageID: "SM1", MessageID: "msg-7", Time: now}}
	}
	tests := []struct {
		name string
		form url.Values
		want []mailevent.Event
		err  error
	}{
		{"delivered", base("MessageStatus", "delivered"), ev(mailevent.Delivered, ""), nil},
		{"unsubscribed", base("MessageStatus", "undelivered", "ErrorCode", "21610"), ev(mailevent.Bounce, mailevent.Permanent), nil},
		{"unknown handset", base("MessageStatus", "failed", "ErrorCode", "30005"), ev(mailevent.Bounce, mailevent.Permanent), nil},
		{"landline", base("MessageStatus", "undelivered", "ErrorCode", "30006"), ev(mailevent.Bounce, mailevent.Permanent), nil},
		{"blocked", base("MessageStatus", "undelivered", "ErrorCode", "30004"), ev(mailevent.Bounce, mailevent.Permanent), nil},
		{"handset off", base("MessageStatus", "undelivered", "ErrorCode", "30003"), ev(mailevent.Bounce, mailevent.Transient), nil},
		{"carrier filtered", base("MessageStatus", "undelivered", "ErrorCode", "30007"), ev(mailevent.Bounce, mailevent.Transient), nil},
		{"failed without a code", base("MessageStatus", "failed"), ev(mailevent.Bounce, mailevent.Transient), nil},
		{"SmsStatus only", base("SmsStatus", "delivered"), ev(mailevent.Delivered, ""), nil},
		{"sent", base("MessageStatus", "sent"), nil, nil},
		{"queued", base("MessageStatus", "queued"), nil, nil},
		{"no sid", url.Values{"MessageStatus": {"delivered"}, "To": {"+447700900123"}}, nil, mailevent.ErrMalformed},
		{"no status", base(), nil, mailevent.ErrMalformed},
		{"bad To", base("MessageStatus", "delivered", "To", "07700 900123"), nil, mailevent.ErrMalformed},
		{"bad ErrorCode", base("MessageStatus", "failed", "ErrorCode", "x"), nil, mailevent.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := twilio.ParseCallback(cb, tt.form, now)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if len(got) != len(tt.want) || (len(got) == 1 && got[0] != tt.want[0]) {
				t.Errorf("events %+v, want %+v", got, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "7700") {
				t.Errorf("error %q quotes the number", err)
			}
		})
	}
}

// FuzzParseCallback: any body parses to at most one event whose Address
// is E.164, or to an error that is malformed (400) and quotes no number.
func FuzzParseCallback(f *testing.F) {
	f.Add("MessageSid=SM1&MessageStatus=undelivered&To=%2B14155552671&ErrorCode=21610")
	f.Add("SmsSid=SM1&SmsStatus=delivered&To=%2B447700900123")
	f.Add("MessageSid=SM1&MessageStatus=failed&To=+14155552671&ErrorCode=-1")
	f.Add("To=%2B1&To=%2B2")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		evs, err := twilio.ParseCallback("https://e.example/twilio?cogmail_message_id=m", form, now)
		if err != nil {
			if mailevent.Status(err) != http.StatusBadRequest {
				t.Fatalf("error %v: status %d", err, mailevent.Status(err))
			}
			if to := form.Get("To"); len(to) >= 4 && strings.Contains(err.Error(), to) {
				t.Fatalf("error %q quotes To", err)
			}
			return
		}
		if len(evs) > 1 {
			t.Fatalf("%d events", len(evs))
		}
		for _, e := range evs {
			if e.Address != form.Get("To") || e.Provider != "twilio" || e.Kind == "" {
				t.Fatalf("event %+v from %q", e, body)
			}
		}
	})
}
