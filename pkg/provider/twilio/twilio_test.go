package twilio_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/providertest"
	"github.com/cogmail/cogmail/pkg/provider/twilio"
	"github.com/cogmail/cogmail/pkg/provider/twilio/twiliofake"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "f00dfeedf00dfeedf00dfeedf00dfeed"
	apiKey     = "SK0123456789abcdef0123456789abcdef"
	apiSecret  = "s3cr3tS3CR3Ts3cr3tS3CR3Ts3cr3tXY"
	service    = "MG0123456789abcdef0123456789abcdef"
)

func fakeOptions() twiliofake.Options {
	return twiliofake.Options{AccountSID: accountSID, AuthToken: authToken, APIKeys: map[string]string{apiKey: apiSecret}, Now: providertest.Now}
}

func config(fake *twiliofake.Server) twilio.Config {
	return twilio.Config{AccountSID: accountSID, AuthToken: authToken, MessagingServiceSID: service, BaseURL: fake.URL(), Now: providertest.Now}
}

func TestConformance(t *testing.T) { providertest.RunSMS(t, harness) }

func harness(t *testing.T, f providertest.Fault) providertest.SMSHarness {
	opts := fakeOptions()
	var fault twiliofake.Fault
	m := providertest.SMS()
	wrongToken := false
	switch f {
	case providertest.ServerError:
		fault = twiliofake.Fault{Status: http.StatusInternalServerError}
	case providertest.Unauthorized:
		wrongToken = true // the fake answers 401 with code 20003
	case providertest.Forbidden:
		fault = twiliofake.Fault{Status: http.StatusForbidden, Code: 20003, Message: "Authenticate: the API key may not send messages"}
	case providertest.RateLimited:
		fault = twiliofake.Fault{Status: http.StatusTooManyRequests, Code: 20429}
	case providertest.BadRecipient:
		fault = twiliofake.Fault{Code: 21211, Status: 400, Message: "The 'To' number " + m.To + " is not a valid phone number."}
	case providertest.PayloadRejected:
		fault = twiliofake.Fault{Code: 21617, Status: 400, Message: "The concatenated message body exceeds the 1600 character limit: " + m.Text}
	case providertest.OptedOut:
		opts.Unsubscribed = []string{m.To}
	case providertest.ConnectionReset:
		fault = twiliofake.Fault{Reset: true}
	case providertest.Timeout:
		fault = twiliofake.Fault{Hang: true}
	case providertest.Garbage:
		fault = twiliofake.Fault{Garbage: true}
	}
	fake := twiliofake.New(opts)
	t.Cleanup(fake.Close)
	fake.SetFault(fault)
	cfg := config(fake)
	if wrongToken {
		cfg.AuthToken = "0000feed0000feed0000feed0000feed"
	}
	p, err := twilio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return providertest.SMSHarness{
		Sender: p,
		Inbox: func() []providertest.DeliveredSMS {
			var out []providertest.DeliveredSMS
			for _, m := range fake.Messages() {
				out = append(out, providertest.DeliveredSMS{ID: m.SID, To: m.To, Text: m.Body})
			}
			return out
		},
		Secrets:    []string{authToken, apiSecret},
		RetryAfter: false, // Twilio's 429 answers carry no retry time
	}
}

// TestSendParams: From or the Messaging Service, the status callback with
// our message id, and API-key authentication.
func TestSendParams(t *testing.T) {
	t.Parallel()
	fake := twiliofake.New(fakeOptions())
	defer fake.Close()
	cb := "https://events.example.com/twilio?pool=eu"
	for _, cfg := range []twilio.Config{
		{AccountSID: accountSID, AuthToken: authToken, From: "+12065550100", StatusCallback: cb, BaseURL: fake.URL()},
		{AccountSID: accountSID, APIKeySID: apiKey, AuthToken: apiSecret, MessagingServiceSID: service, BaseURL: fake.URL()},
	} {
		p, err := twilio.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.SendSMS(context.Background(), providertest.SMS()); err != nil {
			t.Fatalf("SendSMS: %v", err)
		}
	}
	got := fake.Messages()
	if len(got) != 2 {
		t.Fatalf("messages %+v", got)
	}
	if got[0].From != "+12065550100" || got[0].MessagingServiceSID != "" || got[0].StatusCallback != "https://events.example.com/twilio?cogmail_message_id=msg-0001&pool=eu" {
		t.Errorf("with From: %+v", got[0])
	}
	if got[1].From != "" || got[1].MessagingServiceSID != service || got[1].StatusCallback != "" {
		t.Errorf("with a Messaging Service: %+v", got[1])
	}
}

func TestClassification(t *testing.T) {
	m := providertest.SMS()
	tests := []struct {
		name     string
		opts     func(*twiliofake.Options)
		fault    twiliofake.Fault
		class    provider.Class
		status   int
		code     string
		retry    time.Duration
		suppress bool
	}{
		{"21211 invalid To", nil, twiliofake.Fault{Code: 21211}, provider.Permanent, 400, "21211", 0, false},
		{"21614 not a mobile number", func(o *twiliofake.Options) { o.Landlines = []string{m.To} }, twiliofake.Fault{}, provider.Permanent, 400, "21614", 0, true},
		{"21610 unsubscribed", func(o *twiliofake.Options) { o.Unsubscribed = []string{m.To} }, twiliofake.Fault{}, provider.Permanent, 400, "21610", 0, true},
		{"21408 region not enabled", func(o *twiliofake.Options) { o.AllowedCountryCodes = []string{"44"} }, twiliofake.Fault{}, provider.Unavailable, 400, "21408", 0, false},
		{"21612 unreachable from this sender", nil, twiliofake.Fault{Code: 21612}, provider.Unavailable, 400, "21612", 0, false},
		{"21703 service without a sender", func(o *twiliofake.Options) { o.Senders = []string{"+12065550100"} }, twiliofake.Fault{}, provider.Unavailable, 400, "21703", 0, false},
		{"21617 body too long", nil, twiliofake.Fault{Code: 21617}, provider.Permanent, 400, "21617", 0, false},
		{"20429", nil, twiliofake.Fault{Code: 20429}, provider.RateLimited, 429, "20429", 0, false},
		{"429 with Retry-After", nil, twiliofake.Fault{Status: 429, Code: 20429, Header: http.Header{"Retry-After": {"7"}}}, provider.RateLimited, 429, "20429", 7 * time.Second, false},
		{"429 with an unknown code", nil, twiliofake.Fault{Status: 429, Code: 14107}, provider.RateLimited, 429, "14107", 0, false},
		{"20003 authenticate", nil, twiliofake.Fault{Code: 20003}, provider.Unavailable, 401, "20003", 0, false},
		{"20404 wrong account", nil, twiliofake.Fault{Code: 20404}, provider.Unavailable, 404, "20404", 0, false},
		{"500", nil, twiliofake.Fault{Status: 500}, provider.Unavailable, 500, "20500", 0, false},
		{"503", nil, twiliofake.Fault{Status: 503}, provider.Unavailable, 503, "20503", 0, false},
		{"unknown 400 code", nil, twiliofake.Fault{Status: 400, Code: 21999}, provider.Permanent, 400, "21999", 0, false},
		{"garbage 200", nil, twiliofake.Fault{Garbage: true}, provider.Unavailable, 200, "", 0, false},
		{"reset", nil, twiliofake.Fault{Reset: true}, provider.Unavailable, 0, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := fakeOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			fake := twiliofake.New(opts)
			defer fake.Close()
			fake.SetFault(tt.fault)
			p, err := twilio.New(config(fake))
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.SendSMS(context.Background(), m)
			var e *provider.Error
			if !errors.As(err, &e) {
				t.Fatalf("SendSMS: %v, want *provider.Error", err)
			}
			if e.Class != tt.class || e.Status != tt.status || e.Code != tt.code || provider.RetryAfter(err) != tt.retry || provider.Suppresses(err) != tt.suppress {
				t.Errorf("got class %v status %d code %q retry %v suppress %v, want %v %d %q %v %v (%v)",
					e.Class, e.Status, e.Code, provider.RetryAfter(err), provider.Suppresses(err), tt.class, tt.status, tt.code, tt.retry, tt.suppress, err)
			}
		})
	}
}

// TestNonTwilioAnswers: a status with a body that is not Twilio's JSON (a
// proxy's page) never makes the message permanent, and keeps its status.
func TestNonTwilioAnswers(t *testing.T) {
	for _, status := range []int{400, 404, 429, 502} {
		fake := twiliofake.New(fakeOptions())
		p, err := twilio.New(config(fake))
		if err != nil {
			t.Fatal(err)
		}
		fake.SetFault(twiliofake.Fault{Page: true, Status: status})
		_, err = p.SendSMS(context.Background(), providertest.SMS())
		var e *provider.Error
		want := provider.Unavailable
		if status == 429 {
			want = provider.RateLimited
		}
		if !errors.As(err, &e) || e.Class != want || e.Status != status || !strings.Contains(e.Reason, "text/html") {
			t.Errorf("status %d: %v, want %v with the status", status, err, want)
		}
		fake.Close()
	}
}

func TestPing(t *testing.T) {
	fake := twiliofake.New(fakeOptions())
	defer fake.Close()
	good, _ := twilio.New(config(fake))
	wrong := config(fake)
	wrong.AccountSID = "ACffffffffffffffffffffffffffffffff"
	other, _ := twilio.New(wrong)
	providertest.CheckPing(t, good.Ping(context.Background()), len(fake.Messages()), provider.Error{}, authToken)
	providertest.CheckPing(t, other.Ping(context.Background()), len(fake.Messages()),
		provider.Error{Class: provider.Unavailable, Status: 401, Code: "20003"}, authToken)

	// A Messaging Service the account does not have.
	known := twiliofake.New(twiliofake.Options{AccountSID: accountSID, AuthToken: authToken, Senders: []string{service}})
	defer known.Close()
	for _, tt := range []struct {
		sid  string
		want provider.Error
	}{
		{service, provider.Error{}},
		{"MGffffffffffffffffffffffffffffffff", provider.Error{Class: provider.Unavailable, Status: 404, Code: "20404"}},
	} {
		cfg := config(known)
		cfg.MessagingServiceSID = tt.sid
		p, err := twilio.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		providertest.CheckPing(t, p.Ping(context.Background()), len(known.Messages()), tt.want, authToken)
	}
}

// TestRedaction: Twilio's messages quote the number; with the text and
// the token in one too, the error and a log line hold none of them.
func TestRedaction(t *testing.T) {
	t.Parallel()
	m := providertest.SMS()
	fake := twiliofake.New(fakeOptions())
	defer fake.Close()
	fake.SetFault(twiliofake.Fault{Code: 21211, Message: "The 'To' number " + m.To + " (" + strings.TrimPrefix(m.To, "+") + ") is not valid: " + m.Text + " token " + authToken})
	p, err := twilio.New(config(fake))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.SendSMS(context.Background(), m)
	providertest.CheckSMSRedacted(t, err, m)
	if strings.Contains(err.Error(), authToken) {
		t.Errorf("error %q holds the token", err)
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"messaging service", map[string]string{twilio.EnvAccountSID: accountSID, twilio.EnvAuthToken: authToken, twilio.EnvMessagingServiceSID: service}, nil},
		{"from and secret name", map[string]string{twilio.EnvAccountSID: accountSID, twilio.EnvAuthTokenSecret: "cogmail/twilio", twilio.EnvFrom: "Cogmail",
			twilio.EnvStatusCallback: "https://abc.lambda-url.eu-west-1.on.aws/twilio", twilio.EnvEdge: "dublin", twilio.EnvRegion: "ie1"}, nil},
		{"nothing", nil, []string{twilio.EnvAccountSID, twilio.EnvAuthToken, twilio.EnvFrom}},
		{"bad values in variable order", map[string]string{twilio.EnvAccountSID: "AC123", twilio.EnvAPIKeySID: "key", twilio.EnvAuthToken: "tok en", twilio.EnvFrom: "+1 206 555",
			twilio.EnvStatusCallback: "events.example.com/twilio", twilio.EnvBaseURL: "ftp://x", twilio.EnvEdge: "Dublin!", twilio.EnvRegion: "IE 1"},
			[]string{twilio.EnvAccountSID, twilio.EnvAPIKeySID, twilio.EnvAuthToken, twilio.EnvFrom, twilio.EnvStatusCallback, twilio.EnvBaseURL, twilio.EnvEdge, twilio.EnvRegion}},
		{"both senders", map[string]string{twilio.EnvAccountSID: accountSID, twilio.EnvAuthToken: authToken, twilio.EnvFrom: "+12065550100", twilio.EnvMessagingServiceSID: service}, []string{"both set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := twilio.FromEnv(func(k string) string { return tt.env[k] }).Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate: nil error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("Validate = %q, want %d problems", err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("problem %d %q does not name %s", i, lines[i], w)
				}
			}
			if strings.Contains(err.Error(), "tok en") {
				t.Errorf("Validate quotes the token: %v", err)
			}
		})
	}
	// A secret name that was never resolved cannot make a provider.
	cfg := twilio.FromEnv(func(k string) string {
		return map[string]string{twilio.EnvAccountSID: accountSID, twilio.EnvAuthTokenSecret: "cogmail/twilio", twilio.EnvMessagingServiceSID: service}[k]
	})
	if _, err := twilio.New(cfg); err == nil || !strings.Contains(err.Error(), twilio.EnvAuthTokenSecret) {
		t.Errorf("New with an unresolved secret: %v", err)
	}
}

// FuzzErrorBody: whatever Twilio (or something in its place) answers,
// SendSMS returns a receipt or a classified *provider.Error that holds
// neither the number, nor the text, nor the token.
func FuzzErrorBody(f *testing.F) {
	f.Add(400, `{"code":21211,"message":"The 'To' number +14155552671 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`)
	f.Add(429, `{"code":20429,"message":"Too Many Requests","status":429}`)
	f.Add(201, `{"sid":"SM1","status":"queued"}`)
	f.Add(201, `{"sid":null}`)
	f.Add(500, `<html>482916</html>`)
	f.Add(400, `{"code":"x"}`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 200 || status > 599 {
			return
		}
		cfg := twilio.Config{AccountSID: accountSID, AuthToken: authToken, MessagingServiceSID: service,
			HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
					Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
			})}}
		p, err := twilio.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m := providertest.SMS()
		r, err := p.SendSMS(context.Background(), m)
		if err == nil {
			if r.ID == "" {
				t.Fatal("receipt without an id")
			}
			return
		}
		if provider.ClassOf(err) == 0 {
			t.Fatalf("unclassified %v", err)
		}
		providertest.CheckSMSRedacted(t, err, m)
		if strings.Contains(err.Error(), authToken) {
			t.Fatalf("error %q holds the token", err)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPingSenders: Ping checks the sender SendSMS uses, and works with a
// Standard API key, which may not read the Accounts resource.
func TestPingSenders(t *testing.T) {
	fake := twiliofake.New(twiliofake.Options{AccountSID: accountSID, AuthToken: authToken, APIKeys: map[string]string{apiKey: apiSecret},
		Senders: []string{"+12065550100", service}})
	defer fake.Close()
	tests := []struct {
		name string
		cfg  twilio.Config
		want provider.Error
	}{
		{"token, own From", twilio.Config{AuthToken: authToken, From: "+12065550100"}, provider.Error{}},
		{"token, foreign From", twilio.Config{AuthToken: authToken, From: "+12065550199"}, provider.Error{Class: provider.Unavailable, Status: 200, Code: "21606"}},
		{"token, alphanumeric From", twilio.Config{AuthToken: authToken, From: "Cogmail"}, provider.Error{}},
		{"API key, service", twilio.Config{APIKeySID: apiKey, AuthToken: apiSecret, MessagingServiceSID: service}, provider.Error{}},
		{"API key, own From", twilio.Config{APIKeySID: apiKey, AuthToken: apiSecret, From: "+12065550100"}, provider.Error{}},
		{"API key, alphanumeric From", twilio.Config{APIKeySID: apiKey, AuthToken: apiSecret, From: "Cogmail"}, provider.Error{}},
		{"API key, wrong secret", twilio.Config{APIKeySID: apiKey, AuthToken: authToken, From: "Cogmail"}, provider.Error{Class: provider.Unavailable, Status: 401, Code: "20003"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.AccountSID, cfg.BaseURL = accountSID, fake.URL()
			p, err := twilio.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			providertest.CheckPing(t, p.Ping(context.Background()), len(fake.Messages()), tt.want, authToken, apiSecret)
		})
	}
}
