package sendgrid_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/providertest"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid/sendgridfake"
)

// Ping reads the key's scopes with Send's client and sends nothing.
func TestPing(t *testing.T) {
	tests := []struct {
		name   string
		scopes []string
		fault  sendgridfake.Fault
		key    string
		class  provider.Class // 0: success
		status int
		code   string
	}{
		{name: "good", key: key},
		{name: "wrong key", key: "SG.wrong-key-9876543210", class: provider.Unavailable, status: 401},
		{name: "forbidden", key: key, fault: sendgridfake.Fault{Status: http.StatusForbidden}, class: provider.Unavailable, status: 403},
		{name: "rate limited", key: key, fault: sendgridfake.Fault{Status: http.StatusTooManyRequests}, class: provider.RateLimited, status: 429},
		{name: "server error", key: key, fault: sendgridfake.Fault{Status: http.StatusServiceUnavailable}, class: provider.Unavailable, status: 503},
		{name: "no mail.send scope", key: key, scopes: []string{"stats.read"}, class: provider.Unavailable, status: 200, code: "mail.send"},
		{name: "not SendGrid", key: key, fault: sendgridfake.Fault{Garbage: true}, class: provider.Unavailable, status: 200},
		{name: "reset", key: key, fault: sendgridfake.Fault{Reset: true}, class: provider.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := sendgridfake.New(sendgridfake.Options{APIKey: key, Scopes: tt.scopes})
			t.Cleanup(fake.Close)
			if tt.fault.Status != 0 || tt.fault.Garbage || tt.fault.Reset {
				fake.SetFault(tt.fault)
			}
			p, err := sendgrid.New(sendgrid.Config{APIKey: tt.key, BaseURL: fake.URL()})
			if err != nil {
				t.Fatal(err)
			}
			err = p.Ping(context.Background())
			providertest.CheckPing(t, err, len(fake.Messages()), provider.Error{Class: tt.class, Status: tt.status, Code: tt.code}, key, tt.key)
		})
	}
}
