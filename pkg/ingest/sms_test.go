package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/brand"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/ingest"
	"github.com/cogmail/cogmail/pkg/phone"
	"github.com/cogmail/cogmail/pkg/seal"
	"github.com/cogmail/cogmail/pkg/segment"
)

// TestSharedSMSEvents runs every Custom SMS Sender event of the shared
// fixtures (encrypted by the reference JavaScript Encryption SDK) through
// the real handler: each is enqueued as a version 2 envelope whose clear
// metadata says sms, the country, encoding and segments; the sealed payload
// holds the E.164 number and a text with the code (the temporary password
// HTML-unescaped) and the autofill line; the other pool's ciphertext is
// refused. No log line, metric, queue body or attribute carries the code or
// the whole number; the logs show the masked number and the country.
func TestSharedSMSEvents(t *testing.T) {
	s := newStack(t, config.KeyringRawAES, "COGMAIL_SMS_ORIGIN_DOMAIN", "app.example.com")
	var secrets, masked []string
	for _, c := range fixtures.MustLoadSMSEvents().Cases {
		secrets = append(secrets, c.Secret, html.UnescapeString(c.Secret), c.Phone, strings.TrimPrefix(c.Phone, "+"), c.Phone[len(c.Phone)-9:])
		t.Run(c.Name, func(t *testing.T) {
			e, err := cognito.Parse(c.Event)
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.h.Handle(context.Background(), c.Event)
			msgs := s.drain(t)
			if !c.Deliver() {
				var ie *ingest.Error
				if !errors.As(err, &ie) || ie.Stage != ingest.StageDecrypt || ie.Retryable || len(msgs) != 0 {
					t.Fatalf("want a permanent decrypt error and nothing enqueued, got %v and %d messages", err, len(msgs))
				}
				return
			}
			if err != nil || len(msgs) != 1 {
				t.Fatalf("Handle: %v, %d messages", err, len(msgs))
			}
			n, err := phone.Parse(c.Phone)
			if err != nil {
				t.Fatal(err)
			}
			masked = append(masked, n.Masked())
			m := msgs[0]
			for _, leak := range []string{html.UnescapeString(c.Secret), c.Secret, c.Phone, strings.TrimPrefix(c.Phone, "+"), n.Masked()} {
				if strings.Contains(m.body, leak) {
					t.Errorf("the queue body contains %q in clear", leak)
				}
				for k, v := range m.attrs {
					if strings.Contains(v, leak) {
						t.Errorf("attribute %s contains %q", k, leak)
					}
				}
			}
			env, err := envelope.Parse([]byte(m.body))
			if err != nil {
				t.Fatal(err)
			}
			if env.Version != envelope.SchemaVersionSMS || env.MessageChannel() != cognito.ChannelSMS || env.Trigger != e.TriggerSource ||
				env.SMS == nil || env.SMS.Country != n.Country() || env.SMS.Encoding != string(segment.GSM7) || env.SMS.Segments != 1 {
				t.Errorf("envelope %+v sms %+v", env, env.SMS)
			}
			if m.attrs[envelope.AttrChannel] != "sms" || m.attrs[envelope.AttrSchema] != "2" || m.attrs[envelope.AttrTrigger] != string(e.TriggerSource) {
				t.Errorf("attributes %v", m.attrs)
			}
			if res.Channel != cognito.ChannelSMS || res.SMS == nil || *res.SMS != *env.SMS {
				t.Errorf("result %+v", res)
			}
			if want := ingest.ExpiryFor(nil, e.TriggerSource.On(cognito.ChannelEmail)); !env.ExpiresAt.Equal(env.CreatedAt.Add(want)) {
				t.Errorf("expires %v after creation, want the email namesake's %v", env.ExpiresAt.Sub(env.CreatedAt), want)
			}
			plain, err := s.opener.Open(context.Background(), env.ID, env.Sealed)
			if err != nil {
				t.Fatal(err)
			}
			var p envelope.Payload
			if err := json.Unmarshal(plain, &p); err != nil {
				t.Fatal(err)
			}
			code := html.UnescapeString(c.Secret)
			if p.Channel != cognito.ChannelSMS || p.To != c.Phone || !strings.Contains(p.Text, code) || p.Subject != "" || p.HTML != "" {
				t.Errorf("payload channel %q, to the number %v, text %q, subject %q", p.Channel, p.To == c.Phone, p.Text, p.Subject)
			}
			lines := strings.Split(p.Text, "\n")
			autofill := lines[len(lines)-1] == "@app.example.com #"+code
			if autofill == (e.TriggerSource == cognito.SMSAdminCreateUser) {
				t.Errorf("%s: autofill line %v: %q", e.TriggerSource, autofill, p.Text)
			}
		})
	}
	for _, out := range []struct{ name, text string }{{"logs", s.logs.String()}, {"metrics", s.emf.String()}} {
		for _, sec := range secrets {
			if strings.Contains(out.text, sec) {
				t.Errorf("%s contain a code or a number: %q", out.name, sec)
			}
		}
	}
	for _, m := range masked {
		if !strings.Contains(s.logs.String(), `"to":"`+m+`"`) {
			t.Errorf("the logs lack the masked number %s", m)
		}
	}
	if !strings.Contains(s.logs.String(), `"country":"GB"`) || !strings.Contains(s.emf.String(), `"Channel":"sms"`) {
		t.Errorf("logs or metrics lack the country or channel:\n%s\n%s", s.logs, s.emf)
	}
}

const smsEvent = `{"version":"1","triggerSource":"CustomSMSSender_SignUp","region":"us-east-1",
"userPoolId":"us-east-1_Abc123","userName":"ana","callerContext":{"awsSdkVersion":"x","clientId":"c"},
"request":{"type":"customSMSSenderRequestV1","code":"AYADeLhj","clientMetadata":null,
"userAttributes":{"sub":"s-1","phone_number":"PHONE","email":"ana@example.com"}},"response":{}}`

// TestSMSRecipientRefused: an SMS event without a usable phone_number fails
// at stage recipient, permanently, with an error that names the attribute
// and what is wrong but not the number; nothing is enqueued or logged of it.
func TestSMSRecipientRefused(t *testing.T) {
	for _, tc := range []struct{ name, number, why string }{
		{"not in the numbering plan", "+44207123456789", "not a valid number"},
		{"national form", "02071234567", "not in international form"},
		{"too short", "+4420", "not a valid number"},
		{"missing", "", "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, fakeDecrypter{code: "123456"})
			ev := strings.Replace(smsEvent, "PHONE", tc.number, 1)
			err := hs.h.Lambda(context.Background(), json.RawMessage(ev))
			var ie *ingest.Error
			if !errors.As(err, &ie) || ie.Stage != ingest.StageRecipient || ie.Retryable {
				t.Fatalf("Lambda() = %v, want a permanent recipient error", err)
			}
			if !errors.Is(err, phone.ErrInvalidNumber) && !errors.Is(err, phone.ErrNoNumber) || !strings.Contains(err.Error(), "phone_number") ||
				!strings.Contains(err.Error(), tc.why) {
				t.Errorf("error %v: want phone_number and %q", err, tc.why)
			}
			if len(hs.pub.got) != 0 {
				t.Error("a refused event was enqueued")
			}
			digits := strings.TrimPrefix(tc.number, "+")
			for _, leak := range []string{"123456", digits} {
				if leak != "" && (strings.Contains(err.Error(), leak) || strings.Contains(hs.logs.String(), leak) || strings.Contains(hs.emf.String(), leak)) {
					t.Errorf("error, logs or metrics contain %q", leak)
				}
			}
			if !strings.Contains(hs.emf.String(), `"Stage":"recipient"`) || !strings.Contains(hs.emf.String(), `"Channel":"sms"`) {
				t.Errorf("no IngestFailed metric for the SMS channel: %s", hs.emf)
			}
		})
	}
}

// TestSMSNeverUsesTheEmail: an SMS event goes to its phone_number even when
// the user has an email address, and an email event to the address even
// when the user has a number.
func TestSMSNeverUsesTheEmail(t *testing.T) {
	hs := newHarness(t, fakeDecrypter{code: "123456"})
	if _, err := hs.h.Handle(context.Background(), []byte(strings.Replace(smsEvent, "PHONE", "+14155552671", 1))); err != nil {
		t.Fatal(err)
	}
	withPhone := strings.Replace(event, `"email":"ana@example.com"`, `"email":"ana@example.com","phone_number":"+14155552671"`, 1)
	if _, err := hs.h.Handle(context.Background(), []byte(withPhone)); err != nil {
		t.Fatal(err)
	}
	if len(hs.pub.got) != 2 {
		t.Fatalf("%d enqueued", len(hs.pub.got))
	}
	sms, email := hs.pub.got[0], hs.pub.got[1]
	if sms.MessageChannel() != cognito.ChannelSMS || sms.SMS.Country != "US" || email.MessageChannel() != cognito.ChannelEmail || email.SMS != nil || email.Version != envelope.SchemaVersion {
		t.Errorf("sms %+v, email %+v", sms, email)
	}
	for _, p := range []struct {
		env  *envelope.Envelope
		want string
	}{{sms, "+14155552671"}, {email, "ana@example.com"}} {
		pt, err := openWith(hs, p.env)
		if err != nil {
			t.Fatal(err)
		}
		if pt.To != p.want {
			t.Errorf("%s message to the wrong recipient", p.env.MessageChannel())
		}
	}
	if strings.Contains(hs.logs.String(), "4155552671") || !strings.Contains(hs.logs.String(), `"to":"+1******2671"`) {
		t.Errorf("logs: %s", hs.logs)
	}
}

func TestSMSExpiry(t *testing.T) {
	over := map[cognito.Trigger]time.Duration{cognito.Authentication: 90 * time.Second, cognito.SMSForgotPassword: 10 * time.Minute}
	for tr, want := range map[cognito.Trigger]time.Duration{
		cognito.SMSAuthentication:                90 * time.Second, // the email namesake's override
		cognito.SMSForgotPassword:                10 * time.Minute, // its own
		cognito.ForgotPassword:                   time.Hour,        // the SMS override is the SMS one's alone
		cognito.SMSAdminCreateUser:               7 * 24 * time.Hour,
		cognito.Trigger("CustomSMSSender_Other"): ingest.GenericExpiry,
	} {
		if got := ingest.ExpiryFor(over, tr); got != want {
			t.Errorf("ExpiryFor(%s) = %v, want %v", tr, got, want)
		}
	}
}

// openWith unseals an envelope the harness enqueued.
func openWith(hs *harness, env *envelope.Envelope) (envelope.Payload, error) {
	var p envelope.Payload
	o, err := seal.NewOpener(seal.OpenerOptions{KMS: hs.kms})
	if err != nil {
		return p, err
	}
	pt, err := o.Open(context.Background(), env.ID, env.Sealed)
	if err != nil {
		return p, err
	}
	return p, json.Unmarshal(pt, &p)
}

// TestBrandSMSWorstCase: a brand whose name makes a built-in text message
// longer than the default segment limit builds (an email-only pool must
// start) and gets a warning naming it, its templates and the fix; the same
// brand with smsSegments: 1 or an originDomain set is refused by the brand
// file's checks (ingest.CheckTemplates), on the key it set, and by
// NewBrandSet; smsSegments: 2 accepts it.
func TestBrandSMSWorstCase(t *testing.T) {
	name := strings.Repeat("N", 60)
	doc := "brands:\n - name: " + name + "\n   from: {address: a@a.example}\n"
	set, err := brand.Parse([]byte(doc), ingest.CheckTemplates("en"))
	if err != nil {
		t.Fatalf("an email-only brand with a long name: %v", err)
	}
	if _, err := ingest.NewBrandSet(set, "en"); err != nil {
		t.Errorf("NewBrandSet: %v", err)
	}
	ws := ingest.SMSWarnings(set, "en")
	if len(ws) != 1 {
		t.Fatalf("SMSWarnings = %q, want one", ws)
	}
	for _, w := range []string{`brand "` + name + `"`, "de/ForgotPassword.sms.txt (2 segments, GSM-7)", "default limit of 1 segment", "set smsSegments: 2"} {
		if !strings.Contains(ws[0], w) {
			t.Errorf("warning lacks %q: %s", w, ws[0])
		}
	}
	for _, c := range []struct{ extra, key string }{
		{"   smsSegments: 1\n", "brands[0].smsSegments: embedded:"},
		{"   originDomain: app.example.com\n", "brands[0].name: embedded:"},
	} {
		_, err := brand.Parse([]byte(doc+c.extra), ingest.CheckTemplates("en"))
		if err == nil || !strings.Contains(err.Error(), c.key) || !strings.Contains(err.Error(), "over the brand's limit of 1") {
			t.Errorf("with %q: err = %v", c.extra, err)
		}
		unchecked, err := brand.Parse([]byte(doc + c.extra))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ingest.NewBrandSet(unchecked, "en"); err == nil || !strings.Contains(err.Error(), "over the brand's limit of 1") {
			t.Errorf("NewBrandSet with %q: err = %v", c.extra, err)
		}
		if ws := ingest.SMSWarnings(unchecked, "en"); len(ws) != 0 {
			t.Errorf("SMSWarnings of a refused brand: %q", ws)
		}
	}
	if _, err := brand.Parse([]byte(doc+"   smsSegments: 2\n"), ingest.CheckTemplates("en")); err != nil {
		t.Errorf("with smsSegments 2: %v", err)
	}
	set, err = brand.Parse([]byte(doc + "   smsSegments: 2\n   originDomain: app.example.com\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.NewBrandSet(set, "en"); err != nil {
		t.Errorf("NewBrandSet: %v", err)
	}
	if ws := ingest.SMSWarnings(set, "en"); len(ws) != 0 {
		t.Errorf("SMSWarnings with smsSegments 2: %q", ws)
	}
}
