package dispatchwire_test

import (
	"testing"

	"github.com/cogmail/cogmail/functions/dispatch/dispatchwire"
	"github.com/cogmail/cogmail/pkg/config"
	"github.com/cogmail/cogmail/pkg/provider/smtp"
)

func TestSMTPPolicy(t *testing.T) {
	for _, c := range []struct {
		in   config.SMTPTLS
		want smtp.TLSPolicy
	}{
		{"", smtp.StartTLSMandatory}, // unset: the provider's default
		{config.SMTPStartTLS, smtp.StartTLSMandatory},
		{config.SMTPStartTLSOpportunistic, smtp.StartTLSOpportunistic},
		{config.SMTPImplicitTLS, smtp.ImplicitTLS},
		{config.SMTPNoTLS, smtp.NoTLS},
	} {
		if got := dispatchwire.SMTPPolicy(c.in); got != c.want {
			t.Errorf("SMTPPolicy(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}
