package mailgun_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/mailgun"
	"github.com/cogmail/cogmail/pkg/provider/mailgun/mailgunfake"
	"github.com/cogmail/cogmail/pkg/provider/providertest"
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
			providertest.CheckPing(t, err, len(fake.Messages()), provider.Error{Class: tt.class, Status: tt.status}, key, tt.key)
		})
	}
}
