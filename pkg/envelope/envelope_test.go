package envelope_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/seal"
)

func sample() *envelope.Envelope {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	return &envelope.Envelope{
		Version: envelope.SchemaVersion, ID: "0123456789abcdef0123456789abcdef", DedupKey: "d1",
		Trigger: cognito.SignUp, Pool: "us-east-1_Abc", UserName: "ana", Locale: "en",
		CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour),
		Sealed: seal.Sealed{Alg: seal.Algorithm, DataKey: []byte{1, 2}, Nonce: []byte{3}, Ciphertext: []byte{4, 5}},
	}
}

func TestMarshalParseRoundTrip(t *testing.T) {
	e := sample()
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := envelope.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != e.ID || got.Trigger != e.Trigger || !got.ExpiresAt.Equal(e.ExpiresAt) || string(got.Sealed.Ciphertext) != string(e.Sealed.Ciphertext) {
		t.Errorf("round trip changed the envelope: %+v", got)
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := sample().Marshal()
	cases := []struct{ name, in, want string }{
		{"not json", `nope`, "not an envelope"},
		{"array", `[1]`, "not an envelope"},
		{"wrong type", `{"v":"1"}`, "wrong type"},
		{"future version", strings.Replace(string(good), `"v":1`, `"v":3`, 1), "schema version 3 is not supported (want 1 or 2)"},
		{"version 2 without channel", strings.Replace(string(good), `"v":1`, `"v":2`, 1), `must have channel "sms"`},
		{"version 1 with a channel", strings.Replace(string(good), `"v":1`, `"v":1,"channel":"sms"`, 1), "a version 1 envelope has no channel"},
		{"sms without metadata", strings.Replace(string(good), `"v":1`, `"v":2,"channel":"sms"`, 1), "missing sms.country, sms.encoding, sms.segments"},
		{"no id", strings.Replace(string(good), `"id":"0123456789abcdef0123456789abcdef"`, `"id":""`, 1), "missing id"},
		{"no sealed", `{"v":1,"id":"x","dedupKey":"d","trigger":"t","pool":"p","createdAt":"2026-01-01T00:00:00Z","expiresAt":"2026-01-01T00:00:00Z"}`, "sealed.ct"},
		{"too big", strings.Repeat(" ", envelope.MaxBytes+1), "over the"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := envelope.Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDedupKey(t *testing.T) {
	ev := fixtures.MustLoadEvents()
	keys := map[string]string{}
	for _, c := range ev.Cases {
		e, err := cognito.Parse(c.Event)
		if err != nil {
			t.Fatal(err)
		}
		k := envelope.DedupKey(e)
		again, _ := cognito.Parse(c.Event)
		if envelope.DedupKey(again) != k {
			t.Errorf("%s: dedup key not stable across a retried invocation", c.Name)
		}
		if prev, dup := keys[k]; dup {
			t.Errorf("%s and %s share dedup key", prev, c.Name)
		}
		keys[k] = c.Name
		if strings.Contains(k, e.UserName) || len(k) != 40 {
			t.Errorf("%s: dedup key %q is not an opaque 40-char hash", c.Name, k)
		}
	}
}

func TestAttributesCarryNoSecrets(t *testing.T) {
	e := sample()
	attrs := e.Attributes()
	want := map[string]string{
		envelope.AttrTrigger: "CustomEmailSender_SignUp", envelope.AttrSchema: "1",
		envelope.AttrExpiresAt: "2026-11-26T10:00:00Z", envelope.AttrDedupKey: "d1",
		envelope.AttrPool: "us-east-1_Abc", envelope.AttrMessageID: e.ID,
	}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, attrs[k], v)
		}
	}
	if len(attrs) != len(want) {
		t.Errorf("unexpected attributes: %v", attrs)
	}
}

func TestExpired(t *testing.T) {
	e := sample()
	if e.Expired(e.ExpiresAt.Add(-time.Second)) {
		t.Error("expired a second early")
	}
	if !e.Expired(e.ExpiresAt) {
		t.Error("not expired at expiresAt")
	}
}

func smsSample() *envelope.Envelope {
	e := sample()
	e.Version, e.Trigger, e.Channel = envelope.SchemaVersionSMS, cognito.SMSSignUp, cognito.ChannelSMS
	e.SMS = &envelope.SMS{Country: "GB", Encoding: "GSM-7", Segments: 1}
	return e
}

// TestSMSEnvelope: a text message is a version 2 envelope whose clear
// fields name its channel, country, encoding and segments, and whose
// attributes add only the channel; an email envelope is as it was.
func TestSMSEnvelope(t *testing.T) {
	e := smsSample()
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := envelope.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.MessageChannel() != cognito.ChannelSMS || *got.SMS != *e.SMS {
		t.Errorf("round trip: channel %q, sms %+v", got.MessageChannel(), got.SMS)
	}
	if a := e.Attributes(); a[envelope.AttrChannel] != "sms" || a[envelope.AttrSchema] != "2" || len(a) != 7 {
		t.Errorf("attributes %v", a)
	}
	email, _ := sample().Marshal()
	if strings.Contains(string(email), "channel") || strings.Contains(string(email), `"sms"`) {
		t.Errorf("an email envelope changed: %s", email)
	}
	if ch := sample().MessageChannel(); ch != cognito.ChannelEmail {
		t.Errorf("a version 1 envelope's channel is %q", ch)
	}
}

// TestOldEmailEnvelopeStillParses: an envelope written before channels (a
// message still on the queue during a deploy) opens as an email.
func TestOldEmailEnvelopeStillParses(t *testing.T) {
	old := `{"v":1,"id":"0123456789abcdef0123456789abcdef","dedupKey":"d1","trigger":"CustomEmailSender_SignUp","pool":"us-east-1_Abc","userName":"ana","locale":"en","createdAt":"2026-11-25T10:00:00Z","expiresAt":"2026-11-26T10:00:00Z","sealed":{"alg":"x","dk":"AQI=","iv":"Aw==","ct":"BAU="}}`
	e, err := envelope.Parse([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	if e.MessageChannel() != cognito.ChannelEmail || e.SMS != nil {
		t.Errorf("channel %q sms %+v", e.MessageChannel(), e.SMS)
	}
}
