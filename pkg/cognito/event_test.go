package cognito_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/internal/testkit/fixtures"
	"github.com/cogmail/cogmail/pkg/cognito"
)

const validEvent = `{"version":"1","triggerSource":"CustomEmailSender_SignUp","region":"us-east-1",
"userPoolId":"us-east-1_Abc123","userName":"ana","callerContext":{"awsSdkVersion":"x","clientId":"c"},
"request":{"type":"customEmailSenderRequestV1","code":"AYADeLhj","clientMetadata":null,
"userAttributes":{"sub":"s-1","email":"ana@example.com"}},"response":{}}`

func TestParseSharedEvents(t *testing.T) {
	ev := fixtures.MustLoadEvents()
	seen := map[cognito.Trigger]bool{}
	for _, c := range ev.Cases {
		t.Run(c.Name, func(t *testing.T) {
			e, err := cognito.Parse(c.Event)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !e.TriggerSource.Known() {
				t.Errorf("trigger %q not known", e.TriggerSource)
			}
			if e.UserPoolID != ev.UserPoolID {
				t.Errorf("pool = %q, want %q", e.UserPoolID, ev.UserPoolID)
			}
			if e.Request.ClientMetadata != nil {
				t.Errorf("null clientMetadata should decode to nil map")
			}
			if (e.Ciphertext() == "") != (e.TriggerSource == cognito.AccountTakeOverNotification) {
				t.Errorf("code presence wrong for %s", e.TriggerSource)
			}
			seen[e.TriggerSource] = true
		})
	}
	for _, tr := range cognito.Triggers {
		if !seen[tr] {
			t.Errorf("shared events lack %s", tr)
		}
	}
}

func TestParseRejects(t *testing.T) {
	long := strings.Repeat("x", cognito.MaxAttributeLength+1)
	many := `"a0":"v"`
	for i := 1; i <= cognito.MaxAttributes; i++ {
		many += `,"a` + strings.Repeat("1", i) + `":"v"`
	}
	cases := []struct {
		name, event, field string
	}{
		{"empty", ``, "(event)"},
		{"array", `[]`, "(event)"},
		{"bad json", `{"triggerSource":`, "(event)"},
		{"wrong type", `{"triggerSource":5}`, "(event)"},
		{"no trigger", strings.Replace(validEvent, `"CustomEmailSender_SignUp"`, `""`, 1), "triggerSource"},
		{"foreign trigger", strings.Replace(validEvent, `CustomEmailSender_SignUp`, `CustomMessage_SignUp`, 1), "triggerSource"},
		{"bare prefix", strings.Replace(validEvent, `CustomEmailSender_SignUp`, `CustomEmailSender_`, 1), "triggerSource"},
		{"no pool", strings.Replace(validEvent, `us-east-1_Abc123`, ``, 1), "userPoolId"},
		{"bad pool", strings.Replace(validEvent, `us-east-1_Abc123`, `pool/../x`, 1), "userPoolId"},
		{"no user", strings.Replace(validEvent, `"userName":"ana"`, `"userName":""`, 1), "userName"},
		{"null code", strings.Replace(validEvent, `"AYADeLhj"`, `null`, 1), "request.code"},
		{"no attributes", strings.Replace(validEvent, `"userAttributes":{"sub":"s-1","email":"ana@example.com"}`, `"userAttributes":null`, 1), "request.userAttributes"},
		{"oversized attribute", strings.Replace(validEvent, `"sub":"s-1"`, `"sub":"`+long+`"`, 1), "request.userAttributes.sub"},
		{"too many attributes", strings.Replace(validEvent, `"sub":"s-1"`, many, 1), "request.userAttributes"},
		{"oversized event", `{"x":"` + strings.Repeat("y", cognito.MaxEventBytes) + `"}`, "(event)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cognito.Parse([]byte(tc.event))
			if err == nil {
				t.Fatal("Parse accepted a bad event")
			}
			if !errors.Is(err, cognito.ErrMalformed) {
				t.Errorf("error %v is not ErrMalformed", err)
			}
			var ce *cognito.Error
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name field %q", err, tc.field)
			}
		})
	}
}

func TestParseNeverEchoesValues(t *testing.T) {
	const secretish = "hunter2-very-private"
	bad := []string{
		strings.Replace(validEvent, `"userName":"ana"`, `"userName":{"x":"`+secretish+`"}`, 1),
		strings.Replace(validEvent, `"sub":"s-1"`, `"sub":"`+secretish+strings.Repeat("x", cognito.MaxAttributeLength)+`"`, 1),
		`{"triggerSource":"` + secretish + ``,
	}
	for _, b := range bad {
		_, err := cognito.Parse([]byte(b))
		if err == nil {
			t.Fatal("expected an error")
		}
		if strings.Contains(err.Error(), secretish) {
			t.Errorf("error echoes a value: %v", err)
		}
	}
}

func TestUnknownFutureTriggerIsAccepted(t *testing.T) {
	raw := strings.Replace(validEvent, `CustomEmailSender_SignUp`, `CustomEmailSender_MagicLink`, 1)
	e, err := cognito.Parse([]byte(raw))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if e.TriggerSource.Known() {
		t.Error("MagicLink should not be known")
	}
	if !e.TriggerSource.RequiresCode() {
		t.Error("an unknown trigger should require a code")
	}
	if e.TriggerSource.Short() != "MagicLink" {
		t.Errorf("Short() = %q", e.TriggerSource.Short())
	}
}

func TestAccountTakeOverNeedsNoCode(t *testing.T) {
	raw := strings.Replace(strings.Replace(validEvent, `"AYADeLhj"`, `null`, 1), `CustomEmailSender_SignUp`, string(cognito.AccountTakeOverNotification), 1)
	if _, err := cognito.Parse([]byte(raw)); err != nil {
		t.Fatalf("Parse: %v", err)
	}
}

func TestParseTrigger(t *testing.T) {
	cases := []struct {
		in   string
		want cognito.Trigger
		ok   bool
	}{
		{"SignUp", cognito.SignUp, true},
		{"forgotpassword", cognito.ForgotPassword, true},
		{"CustomEmailSender_Authentication", cognito.Authentication, true},
		{"CustomEmailSender_Future", "CustomEmailSender_Future", true},
		{"Nope", "", false},
	}
	for _, tc := range cases {
		got, err := cognito.ParseTrigger(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseTrigger(%q) = %q, %v", tc.in, got, err)
		}
	}
}

func TestParseSharedSMSEvents(t *testing.T) {
	ev := fixtures.MustLoadSMSEvents()
	seen := map[cognito.Trigger]bool{}
	for _, c := range ev.Cases {
		t.Run(c.Name, func(t *testing.T) {
			e, err := cognito.Parse(c.Event)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !e.TriggerSource.Known() || e.TriggerSource.Channel() != cognito.ChannelSMS {
				t.Errorf("trigger %q: known %v, channel %q", e.TriggerSource, e.TriggerSource.Known(), e.TriggerSource.Channel())
			}
			if e.Request.Type != "customSMSSenderRequestV1" || e.Ciphertext() == "" || e.Attr("phone_number") != c.Phone {
				t.Errorf("type %q, code %v, phone_number as in the case %v", e.Request.Type, e.Ciphertext() != "", e.Attr("phone_number") == c.Phone)
			}
			seen[e.TriggerSource] = true
		})
	}
	for _, tr := range cognito.SMSTriggers {
		if !seen[tr] {
			t.Errorf("shared SMS events lack %s", tr)
		}
	}
}

func TestTriggerFamilies(t *testing.T) {
	cases := []struct {
		t       cognito.Trigger
		short   string
		channel cognito.Channel
		known   bool
		email   cognito.Trigger
		sms     cognito.Trigger
	}{
		{cognito.SignUp, "SignUp", cognito.ChannelEmail, true, cognito.SignUp, cognito.SMSSignUp},
		{cognito.SMSSignUp, "SignUp", cognito.ChannelSMS, true, cognito.SignUp, cognito.SMSSignUp},
		{cognito.SMSAuthentication, "Authentication", cognito.ChannelSMS, true, cognito.Authentication, cognito.SMSAuthentication},
		{cognito.AccountTakeOverNotification, "AccountTakeOverNotification", cognito.ChannelEmail, true, cognito.AccountTakeOverNotification, "CustomSMSSender_AccountTakeOverNotification"},
		{"CustomSMSSender_Future", "Future", cognito.ChannelSMS, false, "CustomEmailSender_Future", "CustomSMSSender_Future"},
	}
	for _, c := range cases {
		t.Run(string(c.t), func(t *testing.T) {
			if c.t.Short() != c.short || c.t.Channel() != c.channel || c.t.Known() != c.known ||
				c.t.On(cognito.ChannelEmail) != c.email || c.t.On(cognito.ChannelSMS) != c.sms {
				t.Errorf("short %q channel %q known %v email %q sms %q", c.t.Short(), c.t.Channel(), c.t.Known(),
					c.t.On(cognito.ChannelEmail), c.t.On(cognito.ChannelSMS))
			}
		})
	}
	if cognito.Trigger("CustomSMSSender_AccountTakeOverNotification").Known() {
		t.Error("Cognito sends no SMS account-takeover notice")
	}
	for in, want := range map[string]cognito.Trigger{"CustomSMSSender_ResendCode": cognito.SMSResendCode, "resendcode": cognito.ResendCode} {
		if got, err := cognito.ParseTrigger(in); err != nil || got != want {
			t.Errorf("ParseTrigger(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// A bare SMS prefix is no source.
	bad := strings.Replace(validEvent, "CustomEmailSender_SignUp", "CustomSMSSender_", 1)
	if _, err := cognito.Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), "not a Custom Email Sender or Custom SMS Sender source") {
		t.Errorf("Parse(bare SMS prefix) = %v", err)
	}
}
