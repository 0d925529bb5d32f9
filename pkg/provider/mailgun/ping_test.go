package mailgun_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/mailgun"
	"github.com/cogmail/cogmail/pkg/provider/mailgun/mailgunfake"
)

// Ping reads the domain with Send's client and sends nothing.
func TestPing(t *testing.T) {
	tests := []struct {
		name   string
		key    string
		domain string
		fault  mailgunfake.Fault
		class  provider.Class // 0: success
		status int
	}{
		{name: "good", key: key, domain: domain},
		{name: "wrong key", key: "key-wrong-9876543210", domain: domain, class: provider.Unavailable, status: 401},
		{name: "domain not in the account", key: key, domain: "other.cogmail.example", class: provider.Unavailable, status: 404},
		{name: "rate limited", key: key, domain: domain, fault: mailgunfake.Fault{Status: http.StatusTooManyRequests}, class: provider.RateLimited, status: 429},
		{name: "server error", key: key, domain: domain, fault: mailgunfake.Fault{Status: http.StatusInternalServerError}, class: provider.Unavailable, status: 500},
		{name: "not Mailgun", key: key, domain: domain, fault: mailgunfake.Fault{Garbage: true}, class: provider.Unavailable, status: 200},
		{name: "reset", key: key, domain: domain, fault: mailgunfake.Fault{Reset: true}, class: provider.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := mailgunfake.New(mailgunfake.Options{APIKey: key, Domain: domain})
			t.Cleanup(fake.Close)
			if tt.fault.Status != 0 || tt.fault.Garbage || tt.fault.Reset {
				fake.SetFault(tt.fault)
			}
			p, err := mailgun.New(mailgun.Config{APIKey: tt.key, Domain: tt.domain, BaseURL: fake.URL()})
			if err != nil {
				t.Fatal(err)
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
			for _, s := range []string{key, tt.key} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("Ping error holds the key: %v", err)
				}
			}
		})
	}
}
