package sendgrid_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/providertest"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid/sendgridfake"
)

const key = "SG.test-key-0123456789"

func TestConformance(t *testing.T) { providertest.Run(t, harness) }

func harness(t *testing.T, f providertest.Fault) providertest.Harness {
	fake := sendgridfake.New(sendgridfake.Options{APIKey: key, Now: providertest.Now})
	t.Cleanup(fake.Close)
	cfg := sendgrid.Config{APIKey: key, BaseURL: fake.URL(), Now: providertest.Now}
	switch f {
	case providertest.ServerError:
		fake.SetFault(sendgridfake.Fault{Status: http.StatusInternalServerError})
	case providertest.Unauthorized:
		cfg.APIKey = "SG.wrong-key-9876543210" // the fake answers 401 by itself
	case providertest.Forbidden:
		fake.SetFault(sendgridfake.Fault{Status: http.StatusForbidden})
	case providertest.RateLimited:
		fake.SetFault(sendgridfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: providertest.RetryIn})
	case providertest.BadRecipient:
		fake.SetFault(sendgridfake.Fault{Status: http.StatusBadRequest, Field: "personalizations.0.to.0.email", Message: "Does not contain a valid address."})
	case providertest.PayloadRejected:
		fake.SetFault(sendgridfake.Fault{Status: http.StatusRequestEntityTooLarge})
	case providertest.ConnectionReset:
		fake.SetFault(sendgridfake.Fault{Reset: true})
	case providertest.Timeout:
		fake.SetFault(sendgridfake.Fault{Hang: true})
	case providertest.Garbage:
		fake.SetFault(sendgridfake.Fault{Garbage: true})
	}
	p, err := sendgrid.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return providertest.Harness{
		Sender: p,
		Inbox: func() []providertest.Delivered {
			var out []providertest.Delivered
			for _, m := range fake.Messages() {
				out = append(out, providertest.Delivered{ID: m.ID, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML})
			}
			return out
		},
		Secrets:    []string{key, cfg.APIKey},
		RetryAfter: true,
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  sendgrid.Config
		want []string // substrings of the error; none: valid
	}{
		{"minimal", sendgrid.Config{APIKey: key}, nil},
		{"eu", sendgrid.Config{APIKey: key, BaseURL: sendgrid.EUBaseURL}, nil},
		{"missing key", sendgrid.Config{}, []string{"Config.APIKey is required"}},
		{"blank key", sendgrid.Config{APIKey: "  "}, []string{"Config.APIKey is required"}},
		{"relative URL", sendgrid.Config{APIKey: key, BaseURL: "api.sendgrid.com"}, []string{"Config.BaseURL must be an http or https URL"}},
		{"bad scheme", sendgrid.Config{APIKey: key, BaseURL: "ftp://api.sendgrid.com"}, []string{"Config.BaseURL must be an http or https URL"}},
		{"user info", sendgrid.Config{APIKey: key, BaseURL: "https://u:p@api.sendgrid.com"}, []string{"Config.BaseURL must not contain user info"}},
		{"query", sendgrid.Config{APIKey: key, BaseURL: "https://api.sendgrid.com?x=1"}, []string{"Config.BaseURL must not have a query"}},
		{"negative timeout", sendgrid.Config{APIKey: key, Timeout: -time.Second}, []string{"Config.Timeout is negative"}},
		{"all at once", sendgrid.Config{BaseURL: "::", Timeout: -1}, []string{"Config.APIKey", "Config.BaseURL", "Config.Timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := sendgrid.New(tt.cfg)
			if len(tt.want) == 0 {
				if err != nil || p == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("New: nil error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "u:p") {
				t.Errorf("error %q quotes the URL's credentials", err)
			}
		})
	}
}

func msg() provider.Message { return providertest.Message() }

func TestClassification(t *testing.T) {
	tests := []struct {
		name       string
		fault      sendgridfake.Fault
		timeout    time.Duration
		class      provider.Class
		status     int
		retry      time.Duration
		reasonPart string
	}{
		{"400 bad recipient", sendgridfake.Fault{Status: 400, Field: "personalizations.0.to.0.email", Message: "Does not contain a valid address."}, 0, provider.Permanent, 400, 0, "personalizations.0.to.0.email: Does not contain a valid address."},
		{"400 without detail", sendgridfake.Fault{Status: 400}, 0, provider.Permanent, 400, 0, "Bad Request"},
		{"401 bad key", sendgridfake.Fault{Status: 401}, 0, provider.Unavailable, 401, 0, "authorization grant is invalid"},
		{"403 forbidden", sendgridfake.Fault{Status: 403}, 0, provider.Unavailable, 403, 0, "access forbidden"},
		{"404", sendgridfake.Fault{Status: 404}, 0, provider.Unavailable, 404, 0, "not found"},
		{"413 too large", sendgridfake.Fault{Status: 413}, 0, provider.Permanent, 413, 0, "payload too large"},
		{"429 reset in 30s", sendgridfake.Fault{Status: 429, RetryAfter: 30 * time.Second}, 0, provider.RateLimited, 429, 30 * time.Second, "too many requests"},
		{"429 reset in 2m", sendgridfake.Fault{Status: 429, RetryAfter: 2 * time.Minute}, 0, provider.RateLimited, 429, 2 * time.Minute, ""},
		{"429 reset past", sendgridfake.Fault{Status: 429, RetryAfter: -time.Minute}, 0, provider.RateLimited, 429, 0, ""},
		{"429 no reset header", sendgridfake.Fault{Status: 429, Header: http.Header{"X-Ratelimit-Reset": {""}}}, 0, provider.RateLimited, 429, 0, ""},
		{"429 Retry-After wins", sendgridfake.Fault{Status: 429, RetryAfter: time.Hour, Header: http.Header{"Retry-After": {"5"}}}, 0, provider.RateLimited, 429, 5 * time.Second, ""},
		{"500", sendgridfake.Fault{Status: 500}, 0, provider.Unavailable, 500, 0, "internal error"},
		{"502", sendgridfake.Fault{Status: 502}, 0, provider.Unavailable, 502, 0, "Bad Gateway"},
		{"503", sendgridfake.Fault{Status: 503}, 0, provider.Unavailable, 503, 0, "service unavailable"},
		{"504", sendgridfake.Fault{Status: 504}, 0, provider.Unavailable, 504, 0, "Gateway Timeout"},
		{"418 unknown", sendgridfake.Fault{Status: 418}, 0, provider.Unavailable, 418, 0, ""},
		{"garbage 200", sendgridfake.Fault{Garbage: true}, 0, provider.Unavailable, 200, 0, "answer is not SendGrid's (text/html)"},
		{"reset", sendgridfake.Fault{Reset: true}, 0, provider.Unavailable, 0, 0, "connection"},
		{"client timeout", sendgridfake.Fault{Latency: time.Minute}, 100 * time.Millisecond, provider.Unavailable, 0, 0, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
			fake := sendgridfake.New(sendgridfake.Options{Now: func() time.Time { return now }})
			defer fake.Close()
			fake.SetFault(tt.fault)
			p, err := sendgrid.New(sendgrid.Config{APIKey: key, BaseURL: fake.URL(), Timeout: tt.timeout, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Send(context.Background(), msg())
			var e *provider.Error
			if !errors.As(err, &e) {
				t.Fatalf("Send: %v, want *provider.Error", err)
			}
			if e.Class != tt.class || e.Status != tt.status || provider.RetryAfter(err) != tt.retry {
				t.Errorf("got class %v status %d retry %v, want %v %d %v (%v)", e.Class, e.Status, provider.RetryAfter(err), tt.class, tt.status, tt.retry, err)
			}
			if !strings.Contains(e.Reason, tt.reasonPart) {
				t.Errorf("Reason %q does not contain %q", e.Reason, tt.reasonPart)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	fake := sendgridfake.New(sendgridfake.Options{})
	url := fake.URL()
	fake.Close()
	p, err := sendgrid.New(sendgrid.Config{APIKey: key, BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Send(context.Background(), msg())
	if provider.ClassOf(err) != provider.Unavailable || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Send to a closed port: %v, want unavailable: connection refused", err)
	}
}

func TestRequestContents(t *testing.T) {
	tests := []struct {
		name    string
		sandbox bool
		m       func(*provider.Message)
		check   func(t *testing.T, got sendgridfake.Message)
	}{
		{"fields and metadata", false, nil, func(t *testing.T, got sendgridfake.Message) {
			if got.From != "no-reply@cogmail.example" || got.FromName != "Cogmail" || got.ReplyTo != "support@cogmail.example" {
				t.Errorf("from/reply-to = %q %q %q", got.From, got.FromName, got.ReplyTo)
			}
			if got.CustomArgs[sendgrid.MessageIDArg] != "msg-0001" || got.CustomArgs["trigger"] != "CustomEmailSender_SignUp" {
				t.Errorf("custom_args = %v", got.CustomArgs)
			}
			if !slices.Equal(got.Categories, []string{"CustomEmailSender_SignUp"}) {
				t.Errorf("categories = %v", got.Categories)
			}
			if got.Sandbox {
				t.Error("sandbox set")
			}
		}},
		{"sandbox", true, nil, func(t *testing.T, got sendgridfake.Message) {
			if !got.Sandbox {
				t.Error("sandbox_mode not enabled")
			}
		}},
		{"text only", false, func(m *provider.Message) { m.HTML = "" }, func(t *testing.T, got sendgridfake.Message) {
			if got.HTML != "" || got.Text == "" {
				t.Errorf("text %q html %q", got.Text, got.HTML)
			}
		}},
		{"html only and headers", false, func(m *provider.Message) {
			m.Text = ""
			m.Headers = map[string]string{"X-Entity-Ref-ID": "abc"}
		}, func(t *testing.T, got sendgridfake.Message) {
			if got.Text != "" || got.HTML == "" || got.Headers["X-Entity-Ref-ID"] != "abc" {
				t.Errorf("text %q html %q headers %v", got.Text, got.HTML, got.Headers)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := sendgridfake.New(sendgridfake.Options{APIKey: key})
			defer fake.Close()
			p, err := sendgrid.New(sendgrid.Config{APIKey: key, BaseURL: fake.URL() + "/", Sandbox: tt.sandbox})
			if err != nil {
				t.Fatal(err)
			}
			m := msg()
			if tt.m != nil {
				tt.m(&m)
			}
			r, err := p.Send(context.Background(), m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := fake.Messages()
			if len(got) != 1 {
				t.Fatalf("fake has %d messages", len(got))
			}
			if r.ID == "" || r.ID != got[0].ID || r.Provider != "sendgrid" {
				t.Errorf("receipt %+v, fake id %q", r, got[0].ID)
			}
			tt.check(t, got[0])
		})
	}
}

func TestFaultCountThenRecovers(t *testing.T) {
	fake := sendgridfake.New(sendgridfake.Options{})
	defer fake.Close()
	fake.SetFault(sendgridfake.Fault{Status: 503, Count: 1})
	p, err := sendgrid.New(sendgrid.Config{APIKey: key, BaseURL: fake.URL(), Name: "sendgrid-eu"})
	if err != nil {
		t.Fatal(err)
	}
	_, first := p.Send(context.Background(), msg())
	_, second := p.Send(context.Background(), msg())
	if provider.ClassOf(first) != provider.Unavailable || !strings.HasPrefix(first.Error(), "sendgrid-eu: ") {
		t.Errorf("first send: %v, want sendgrid-eu: unavailable", first)
	}
	if second != nil || len(fake.Messages()) != 1 {
		t.Errorf("second send: %v, %d messages", second, len(fake.Messages()))
	}
}

func BenchmarkSend(b *testing.B) {
	fake := sendgridfake.New(sendgridfake.Options{APIKey: key})
	defer fake.Close()
	p, err := sendgrid.New(sendgrid.Config{APIKey: key, BaseURL: fake.URL()})
	if err != nil {
		b.Fatal(err)
	}
	m := msg()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAddresses(t *testing.T) { providertest.CheckAddresses(t, harness, false) }
