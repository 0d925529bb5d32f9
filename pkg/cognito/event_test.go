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
