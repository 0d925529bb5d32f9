package mailgun_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	mg "github.com/mailgun/mailgun-go/v4"
	"github.com/mailgun/mailgun-go/v4/events"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/mailgun"
	"github.com/cogmail/cogmail/pkg/provider/mailgun/mailgunfake"
	"github.com/cogmail/cogmail/pkg/provider/providertest"
)

const (
	key    = "key-0123456789abcdef0123456789abcdef"
	domain = "mg.cogmail.example"
)

func TestConformance(t *testing.T) { providertest.Run(t, harness) }

func harness(t *testing.T, f providertest.Fault) providertest.Harness {
	fake := mailgunfake.New(mailgunfake.Options{APIKey: key, Domain: domain})
	t.Cleanup(fake.Close)
	cfg := mailgun.Config{APIKey: key, Domain: domain, BaseURL: fake.URL(), Now: providertest.Now}
	switch f {
	case providertest.ServerError:
		fake.SetFault(mailgunfake.Fault{Status: http.StatusInternalServerError})
	case providertest.Unauthorized:
		cfg.APIKey = "key-wrong-wrong-wrong-wrong" // the fake answers 401 by itself
	case providertest.Forbidden:
		fake.SetFault(mailgunfake.Fault{Status: http.StatusForbidden})
	case providertest.RateLimited:
		fake.SetFault(mailgunfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: providertest.RetryIn})
	case providertest.BadRecipient:
		fake.SetFault(mailgunfake.Fault{Status: http.StatusBadRequest, Message: "to parameter is not a valid address. please check documentation"})
	case providertest.PayloadRejected:
		fake.SetFault(mailgunfake.Fault{Status: http.StatusRequestEntityTooLarge})
	case providertest.ConnectionReset:
		fake.SetFault(mailgunfake.Fault{Reset: true})
	case providertest.Timeout:
		fake.SetFault(mailgunfake.Fault{Hang: true})
	case providertest.Garbage:
		fake.SetFault(mailgunfake.Fault{Garbage: true})
	}
	p, err := mailgun.New(cfg)
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

// TestMailgunMockServer sends through mailgun-go's own mock server.
func TestMailgunMockServer(t *testing.T) {
	ms := mg.NewMockServer()
	defer ms.Stop()
	p, err := mailgun.New(mailgun.Config{APIKey: key, Domain: "mailgun.test", BaseURL: ms.URL()})
	if err != nil {
		t.Fatal(err)
	}
	m := providertest.Message()
	r, err := p.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r.ID == "" || strings.ContainsAny(r.ID, "<>") {
		t.Errorf("receipt id %q", r.ID)
	}
	var found bool
	for _, ev := range ms.Events() {
		if a, ok := ev.(*events.Accepted); ok && a.ID == r.ID {
			found = a.Recipient == m.To && a.Message.Headers.Subject == m.Subject
		}
	}
	if !found {
		t.Errorf("no accepted event for %s to %s with subject %q", r.ID, m.To, m.Subject)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  mailgun.Config
		want []string
	}{
		{"minimal", mailgun.Config{APIKey: key, Domain: domain}, nil},
		{"eu", mailgun.Config{APIKey: key, Domain: domain, BaseURL: mailgun.EUBaseURL}, nil},
		{"eu with /v3", mailgun.Config{APIKey: key, Domain: domain, BaseURL: mailgun.EUBaseURL + "/v3"}, nil},
		{"missing key", mailgun.Config{Domain: domain}, []string{"Config.APIKey is required"}},
		{"missing domain", mailgun.Config{APIKey: key}, []string{"Config.Domain is required"}},
		{"bad domain", mailgun.Config{APIKey: key, Domain: "a/b"}, []string{"Config.Domain is not a domain name"}},
		{"bad URL", mailgun.Config{APIKey: key, Domain: domain, BaseURL: "api.mailgun.net"}, []string{"Config.BaseURL must be an http or https URL"}},
		{"negative timeout", mailgun.Config{APIKey: key, Domain: domain, Timeout: -1}, []string{"Config.Timeout is negative"}},
		{"all at once", mailgun.Config{BaseURL: "https://", Timeout: -1}, []string{"Config.APIKey", "Config.Domain", "Config.BaseURL has no host", "Config.Timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := mailgun.New(tt.cfg)
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
		})
	}
}

func TestClassification(t *testing.T) {
	now := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name       string
		fault      mailgunfake.Fault
		timeout    time.Duration
		class      provider.Class
		status     int
		retry      time.Duration
		reasonPart string
	}{
		{"400 bad address", mailgunfake.Fault{Status: 400, Message: "to parameter is not a valid address. please check documentation"}, 0, provider.Permanent, 400, 0, "to parameter is not a valid address"},
		{"401 plain Forbidden", mailgunfake.Fault{Status: 401}, 0, provider.Unavailable, 401, 0, "Unauthorized"},
		{"402 request failed", mailgunfake.Fault{Status: 402}, 0, provider.Unavailable, 402, 0, "Request Failed"},
		{"403", mailgunfake.Fault{Status: 403}, 0, provider.Unavailable, 403, 0, "Forbidden"},
		{"404 domain", mailgunfake.Fault{Status: 404, Message: "Domain not found: mg.cogmail.example"}, 0, provider.Unavailable, 404, 0, "Domain not found"},
		{"413", mailgunfake.Fault{Status: 413}, 0, provider.Permanent, 413, 0, ""},
		{"429 Retry-After", mailgunfake.Fault{Status: 429, RetryAfter: 12 * time.Second}, 0, provider.RateLimited, 429, 12 * time.Second, "Too many requests"},
		{"429 Retry-After date", mailgunfake.Fault{Status: 429, Header: http.Header{"Retry-After": {now.Add(time.Minute).Format(http.TimeFormat)}}}, 0, provider.RateLimited, 429, time.Minute, ""},
		{"429 X-RateLimit-Reset epoch s", mailgunfake.Fault{Status: 429, Header: http.Header{"Retry-After": {""}, "X-RateLimit-Reset": {"1904281709"}}}, 0, provider.RateLimited, 429, 20 * time.Second, ""},
		{"429 X-RateLimit-Reset epoch ms", mailgunfake.Fault{Status: 429, Header: http.Header{"Retry-After": {""}, "X-RateLimit-Reset": {"1904281709500"}}}, 0, provider.RateLimited, 429, 20500 * time.Millisecond, ""},
		{"429 no headers", mailgunfake.Fault{Status: 429, Header: http.Header{"Retry-After": {""}}}, 0, provider.RateLimited, 429, 0, ""},
		{"500", mailgunfake.Fault{Status: 500}, 0, provider.Unavailable, 500, 0, "Internal Server Error"},
		{"503", mailgunfake.Fault{Status: 503}, 0, provider.Unavailable, 503, 0, "Service Unavailable"},
		{"garbage 200", mailgunfake.Fault{Garbage: true}, 0, provider.Unavailable, 200, 0, "answer is not Mailgun's (text/html)"},
		{"reset", mailgunfake.Fault{Reset: true}, 0, provider.Unavailable, 0, 0, "connection"},
		{"client timeout", mailgunfake.Fault{Latency: time.Minute}, 100 * time.Millisecond, provider.Unavailable, 0, 0, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := mailgunfake.New(mailgunfake.Options{})
			defer fake.Close()
			fake.SetFault(tt.fault)
			p, err := mailgun.New(mailgun.Config{APIKey: key, Domain: domain, BaseURL: fake.URL(), Timeout: tt.timeout, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Send(context.Background(), providertest.Message())
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

func TestWrongDomainIsUnavailable(t *testing.T) {
	fake := mailgunfake.New(mailgunfake.Options{APIKey: key, Domain: domain})
	defer fake.Close()
	p, err := mailgun.New(mailgun.Config{APIKey: key, Domain: "other.example", BaseURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Send(context.Background(), providertest.Message())
	if provider.ClassOf(err) != provider.Unavailable || !strings.Contains(err.Error(), "status 404") {
		t.Fatalf("Send to an unknown domain: %v, want unavailable 404", err)
	}
}

func TestRequestContents(t *testing.T) {
	tests := []struct {
		name     string
		testMode bool
		m        func(*provider.Message)
		check    func(t *testing.T, got mailgunfake.Message)
	}{
		{"fields and metadata", false, nil, func(t *testing.T, got mailgunfake.Message) {
			if got.From != `"Cogmail" <no-reply@cogmail.example>` || got.ReplyTo != "<support@cogmail.example>" || got.Domain != domain {
				t.Errorf("from %q reply-to %q domain %q", got.From, got.ReplyTo, got.Domain)
			}
			if got.Variables[mailgun.MessageIDVariable] != "msg-0001" || got.Variables["trigger"] != "CustomEmailSender_SignUp" {
				t.Errorf("variables = %v", got.Variables)
			}
			if !slices.Equal(got.Tags, []string{"CustomEmailSender_SignUp"}) || got.TestMode {
				t.Errorf("tags %v testmode %v", got.Tags, got.TestMode)
			}
		}},
		{"test mode", true, nil, func(t *testing.T, got mailgunfake.Message) {
			if !got.TestMode {
				t.Error("o:testmode not set")
			}
		}},
		{"html only and a header", false, func(m *provider.Message) {
			m.Text = ""
			m.Headers = map[string]string{"X-Entity-Ref-ID": "abc"}
		}, func(t *testing.T, got mailgunfake.Message) {
			if got.Text != "" || got.HTML == "" || got.Headers["X-Entity-Ref-ID"] != "abc" {
				t.Errorf("text %q html %q headers %v", got.Text, got.HTML, got.Headers)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := mailgunfake.New(mailgunfake.Options{APIKey: key, Domain: domain})
			defer fake.Close()
			p, err := mailgun.New(mailgun.Config{APIKey: key, Domain: domain, BaseURL: fake.URL(), TestMode: tt.testMode})
			if err != nil {
				t.Fatal(err)
			}
			m := providertest.Message()
			if tt.m != nil {
				tt.m(&m)
			}
			r, err := p.Send(context.Background(), m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := fake.Messages()
			if len(got) != 1 || r.ID != got[0].ID || r.Provider != "mailgun" {
				t.Fatalf("receipt %+v, fake %+v", r, got)
			}
			tt.check(t, got[0])
		})
	}
}

func BenchmarkSend(b *testing.B) {
	fake := mailgunfake.New(mailgunfake.Options{APIKey: key, Domain: domain})
	defer fake.Close()
	p, err := mailgun.New(mailgun.Config{APIKey: key, Domain: domain, BaseURL: fake.URL()})
	if err != nil {
		b.Fatal(err)
	}
	m := providertest.Message()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAddresses(t *testing.T) { providertest.CheckAddresses(t, harness, true) }

func TestBaseURLFor(t *testing.T) {
	t.Parallel()
	tests := []struct{ region, base, want string }{
		{"", "", ""},
		{"us", "", ""},
		{"eu", "", mailgun.EUBaseURL},
		{"eu", "http://127.0.0.1:9/", "http://127.0.0.1:9/"},
		{"", "http://127.0.0.1:9/", "http://127.0.0.1:9/"},
	}
	for _, tt := range tests {
		if got := mailgun.BaseURLFor(tt.region, tt.base); got != tt.want {
			t.Errorf("BaseURLFor(%q, %q) = %q, want %q", tt.region, tt.base, got, tt.want)
		}
	}
}
