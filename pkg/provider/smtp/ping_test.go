package smtp_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/smtp"
	"github.com/cogmail/cogmail/pkg/provider/smtp/smtpfake"
)

// Ping opens the session Send opens (STARTTLS, AUTH) and sends nothing.
func TestPing(t *testing.T) {
	tests := []struct {
		name     string
		fault    smtpfake.Fault
		password string
		down     bool
		class    provider.Class // 0: success
		status   int
	}{
		{name: "good", password: password},
		{name: "wrong password", password: "wrong-password-9876543210", class: provider.Unavailable, status: 535},
		{name: "auth busy", password: password, fault: smtpfake.Fault{Stage: smtpfake.Auth, Code: 454, Enhanced: "4.7.0", Message: "Temporary authentication failure"}, class: provider.Unavailable, status: 454},
		{name: "greeting busy", password: password, fault: smtpfake.Fault{Stage: smtpfake.Greeting, Code: 421, Enhanced: "4.7.0", Message: "Too many connections"}, class: provider.RateLimited, status: 421},
		{name: "server down", password: password, down: true, class: provider.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := smtpfake.New(smtpfake.Options{Username: user, Password: password, TLS: smtpfake.StartTLS})
			t.Cleanup(fake.Close)
			if tt.fault != (smtpfake.Fault{}) {
				fake.SetFault(tt.fault)
			}
			p, err := smtp.New(smtp.Config{
				Host: fake.Host(), Port: fake.Port(), Username: user, Password: tt.password,
				TLS: smtp.StartTLSMandatory, TLSConfig: &tls.Config{RootCAs: fake.CertPool()},
			})
			if err != nil {
				t.Fatal(err)
			}
			if tt.down {
				fake.Close()
			}
			err = p.Ping(context.Background())
			if n := len(fake.Messages()); n != 0 {
				t.Errorf("Ping delivered %d messages", n)
			}
			if tt.class == 0 {
				if err != nil {
					t.Fatalf("Ping: %v", err)
				}
				return
			}
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Ping: %v, want a *provider.Error", err)
			}
			if pe.Class != tt.class || pe.Status != tt.status {
				t.Errorf("Ping: class %v status %d, want %v %d (%v)", pe.Class, pe.Status, tt.class, tt.status, err)
			}
			for _, s := range []string{password, tt.password} {
				if strings.Contains(err.Error(), s) || strings.Contains(pe.Reason, s) {
					t.Errorf("Ping error holds a password: %v", err)
				}
			}
		})
	}
}
