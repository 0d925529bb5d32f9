package provider_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/provider"
)

func valid() provider.Message {
	return provider.Message{
		ID:      "m-1",
		From:    provider.Address{Email: "no-reply@example.com", Name: "Example"},
		To:      "ada@example.org",
		Subject: "Your code",
		Text:    "Your code is 123456",
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*provider.Message)
		want string // substring of the error; "" means valid
	}{
		{"valid", func(*provider.Message) {}, ""},
		{"html only", func(m *provider.Message) { m.Text, m.HTML = "", "<p>hi</p>" }, ""},
		{"reply-to", func(m *provider.Message) { m.ReplyTo = provider.Address{Email: "help@example.com"} }, ""},
		{"headers and tags", func(m *provider.Message) {
			m.Headers = map[string]string{"X-Entity-Ref-ID": "1"}
			m.Tags = map[string]string{"trigger": "CustomEmailSender_SignUp"}
		}, ""},
		{"no recipient", func(m *provider.Message) { m.To = "" }, "To is not a single valid address"},
		{"recipient with a name", func(m *provider.Message) { m.To = "Ada <ada@example.org>" }, "To is not a single valid address"},
		{"two recipients", func(m *provider.Message) { m.To = "ada@example.org, bob@example.org" }, "To is not a single valid address"},
		{"recipient without domain", func(m *provider.Message) { m.To = "ada" }, "To is not a single valid address"},
		{"bad sender", func(m *provider.Message) { m.From.Email = "no-reply" }, "From.Email is not a valid address"},
		{"sender name with a line break", func(m *provider.Message) { m.From.Name = "Evil\r\nBcc: x@y" }, "From.Name contains a line break"},
		{"bad reply-to", func(m *provider.Message) { m.ReplyTo = provider.Address{Name: "Help"} }, "ReplyTo.Email is not a valid address"},
		{"no subject", func(m *provider.Message) { m.Subject = " " }, "Subject is empty"},
		{"subject with a line break", func(m *provider.Message) { m.Subject = "a\nb" }, "Subject contains a line break"},
		{"no body", func(m *provider.Message) { m.Text = "" }, "Text and HTML are both empty"},
		{"bad header name", func(m *provider.Message) { m.Headers = map[string]string{"Bad Name:": "1"} }, "Headers has an invalid header name"},
		{"header injection", func(m *provider.Message) { m.Headers = map[string]string{"X-A": "1\r\nBcc: x@y"} }, "Headers has a value with a line break"},
		{"empty tag key", func(m *provider.Message) { m.Tags = map[string]string{"": "v"} }, "Tags has an empty key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid()
			tt.edit(&m)
			err := m.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate: %v, want %q", err, tt.want)
			}
			if m.To != "" && strings.Contains(err.Error(), m.To) {
				t.Errorf("error %q quotes the recipient", err)
			}
		})
	}
}

func TestAddressString(t *testing.T) {
	tests := []struct {
		a    provider.Address
		want string
	}{
		{provider.Address{Email: "a@example.com"}, "<a@example.com>"},
		{provider.Address{Email: "a@example.com", Name: "Ana"}, `"Ana" <a@example.com>`},
		{provider.Address{Email: "a@example.com", Name: "Anaïs"}, "=?utf-8?q?Ana=C3=AFs?= <a@example.com>"},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.a, got, tt.want)
		}
	}
}

func TestClassOfAndRetryAfter(t *testing.T) {
	limited := &provider.Error{Provider: "p", Class: provider.RateLimited, Status: 429, RetryAfter: 30 * time.Second}
	tests := []struct {
		name  string
		err   error
		class provider.Class
		retry time.Duration
	}{
		{"nil", nil, 0, 0},
		{"plain error", errors.New("boom"), provider.Unavailable, 0},
		{"context deadline", context.DeadlineExceeded, provider.Unavailable, 0},
		{"permanent", &provider.Error{Class: provider.Permanent}, provider.Permanent, 0},
		{"rate limited", limited, provider.RateLimited, 30 * time.Second},
		{"wrapped", fmt.Errorf("dispatch: %w", limited), provider.RateLimited, 30 * time.Second},
		{"joined", errors.Join(errors.New("x"), &provider.Error{Class: provider.Permanent}), provider.Permanent, 0},
		{"unclassified *Error", &provider.Error{Provider: "p"}, provider.Unavailable, 0},
		{"retry time on a non-rate-limited error is ignored", &provider.Error{Class: provider.Unavailable, RetryAfter: time.Minute}, provider.Unavailable, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := provider.ClassOf(tt.err); got != tt.class {
				t.Errorf("ClassOf = %v, want %v", got, tt.class)
			}
			if got := provider.RetryAfter(tt.err); got != tt.retry {
				t.Errorf("RetryAfter = %v, want %v", got, tt.retry)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  *provider.Error
		want string
	}{
		{"status and reason", &provider.Error{Provider: "sendgrid", Class: provider.Unavailable, Status: 503, Reason: "service unavailable"}, "sendgrid: unavailable (status 503): service unavailable"},
		{"retry", &provider.Error{Provider: "mailgun", Class: provider.RateLimited, Status: 429, RetryAfter: 30 * time.Second}, "mailgun: rate limited (status 429, retry after 30s)"},
		{"code", &provider.Error{Provider: "ses", Class: provider.Permanent, Status: 400, Code: "MessageRejected"}, "ses: permanent (status 400 MessageRejected)"},
		{"code without status", &provider.Error{Provider: "x", Class: provider.Permanent, Code: "E1"}, "x: permanent (E1)"},
		{"no class", &provider.Error{Provider: "x", Reason: "?"}, "x: unavailable: ?"},
		{"addresses are scrubbed", &provider.Error{Provider: "ses", Class: provider.Permanent, Reason: "identities failed: ada@example.org, bob%40example.org"}, "ses: permanent: identities failed: [address], [address]"},
		{"line breaks are folded", &provider.Error{Provider: "x", Class: provider.Permanent, Reason: "a\r\nb\tc"}, "x: permanent: a b c"},
		{"the underlying error is not printed", &provider.Error{Provider: "x", Class: provider.Unavailable, Reason: "timeout", Err: errors.New("POST body=secret")}, "x: unavailable: timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorUnwraps(t *testing.T) {
	err := error(&provider.Error{Provider: "x", Class: provider.Unavailable, Err: fmt.Errorf("read: %w", context.DeadlineExceeded)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("errors.Is(err, context.DeadlineExceeded) = false")
	}
}

func TestClassString(t *testing.T) {
	tests := []struct {
		c    provider.Class
		want string
	}{
		{0, "none"}, {provider.Unavailable, "unavailable"}, {provider.RateLimited, "rate limited"}, {provider.Permanent, "permanent"}, {9, "class(9)"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Class(%d).String() = %q, want %q", int(tt.c), got, tt.want)
		}
	}
}
