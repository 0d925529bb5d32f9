package suppression_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/testkit/suppressiontest"
	"github.com/cogmail/cogmail/pkg/suppression"
)

func TestMemory(t *testing.T) {
	suppressiontest.Run(t, func(t *testing.T, now func() time.Time) suppression.Store { return suppression.NewMemory(now) })
}

func TestPolicyDefault(t *testing.T) {
	p := suppression.DefaultPolicy()
	at := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	bounce := suppression.Entry{Address: "a@example.com", Reason: suppression.Bounce, At: at}
	complaint := suppression.Entry{Address: "a@example.com", Reason: suppression.Complaint, At: at}
	manual := suppression.Entry{Address: "a@example.com", Reason: suppression.Manual, At: at}
	tests := []struct {
		trigger string
		entries []suppression.Entry
		blocked bool
		by      suppression.Reason
	}{
		{"CustomEmailSender_ForgotPassword", nil, false, ""},
		{"CustomEmailSender_ForgotPassword", []suppression.Entry{complaint}, false, ""},
		{"CustomEmailSender_Authentication", []suppression.Entry{complaint}, false, ""},
		{"CustomEmailSender_VerifyUserAttribute", []suppression.Entry{complaint}, false, ""},
		{"CustomEmailSender_UpdateUserAttribute", []suppression.Entry{complaint}, false, ""},
		{"CustomEmailSender_AdminCreateUser", []suppression.Entry{complaint}, true, suppression.Complaint},
		{"CustomEmailSender_AccountTakeOverNotification", []suppression.Entry{complaint}, true, suppression.Complaint},
		{"CustomEmailSender_SignUp", []suppression.Entry{complaint}, true, suppression.Complaint},
		{"CustomEmailSender_ResendCode", []suppression.Entry{complaint}, true, suppression.Complaint},
		{"CustomEmailSender_ForgotPassword", []suppression.Entry{bounce}, true, suppression.Bounce},
		{"CustomEmailSender_ForgotPassword", []suppression.Entry{bounce, complaint}, true, suppression.Bounce},
		{"ForgotPassword", []suppression.Entry{manual}, true, suppression.Manual},
	}
	for _, tt := range tests {
		e, blocked := p.Blocking(tt.entries, tt.trigger)
		if blocked != tt.blocked || e.Reason != tt.by {
			t.Errorf("%s with %d entries: blocked=%v by %q, want %v by %q", tt.trigger, len(tt.entries), blocked, e.Reason, tt.blocked, tt.by)
		}
	}
	if got := p.Expiry(suppression.Bounce, at); !got.Equal(at.Add(30 * 24 * time.Hour)) {
		t.Errorf("bounce expiry %v", got)
	}
	if got := p.Expiry(suppression.Manual, at); !got.IsZero() {
		t.Errorf("manual expiry %v, want never", got)
	}
}

func TestParsePolicy(t *testing.T) {
	send, err := suppression.ParseSend(`{"complaint":["ForgotPassword","CustomEmailSender_Authentication"],"bounce":["forgotpassword"]}`)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(send[suppression.Complaint]) != "[ForgotPassword Authentication]" || fmt.Sprint(send[suppression.Bounce]) != "[ForgotPassword]" {
		t.Fatalf("ParseSend = %v", send)
	}
	for _, bad := range []string{`[]`, `{"spite":[]}`, `{"complaint":["Nope"]}`, `nope`} {
		if _, err := suppression.ParseSend(bad); err == nil {
			t.Errorf("ParseSend(%s) accepted", bad)
		}
	}
	ttl, err := suppression.ParseTTL("bounce=1h, manual=0", suppression.DefaultPolicy().TTL)
	if err != nil {
		t.Fatal(err)
	}
	if ttl[suppression.Bounce] != time.Hour || ttl[suppression.Manual] != 0 || ttl[suppression.Complaint] != 365*24*time.Hour {
		t.Fatalf("ParseTTL = %v", ttl)
	}
	for _, bad := range []string{"bounce", "spite=1h", "bounce=-1h", "bounce=soon"} {
		if _, err := suppression.ParseTTL(bad, nil); err == nil {
			t.Errorf("ParseTTL(%q) accepted", bad)
		}
	}
}
