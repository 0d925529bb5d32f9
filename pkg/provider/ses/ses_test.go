package ses_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/cogmail/cogmail/internal/testkit/motoserver"
	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/providertest"
	"github.com/cogmail/cogmail/pkg/provider/ses"
	"github.com/cogmail/cogmail/pkg/provider/ses/sesfake"
)

const (
	accessKey = "AKIAFAKEFAKEFAKE0001"
	secretKey = "fake/secret/0123456789abcdefghijklmnopqrst"
)

func awsConfig(akid, secret string) aws.Config {
	return awsclient.Config("eu-west-1", credentials.NewStaticCredentialsProvider(akid, secret, ""))
}

func TestConformance(t *testing.T) { providertest.Run(t, harness) }

func harness(t *testing.T, f providertest.Fault) providertest.Harness {
	opts := sesfake.Options{Credentials: &aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}}
	cfg := ses.Config{AWS: awsConfig(accessKey, secretKey), Now: providertest.Now}
	var fault sesfake.Fault
	switch f {
	case providertest.ServerError:
		fault = sesfake.Fault{Status: http.StatusInternalServerError}
	case providertest.Unauthorized:
		cfg.AWS = awsConfig("AKIAOTHEROTHEROTHER1", secretKey) // the fake answers 403 UnrecognizedClientException
	case providertest.Forbidden:
		fault = sesfake.Fault{Code: "AccessDeniedException"}
	case providertest.RateLimited:
		fault = sesfake.Fault{Code: "TooManyRequestsException"}
	case providertest.BadRecipient:
		// SES's sandbox refuses unverified recipients and names them.
		opts.Sandbox = true
		opts.VerifiedIdentities = []string{"cogmail.example"}
	case providertest.PayloadRejected:
		fault = sesfake.Fault{Code: "BadRequestException", Message: "Message length is more than 40 MB."}
	case providertest.ConnectionReset:
		fault = sesfake.Fault{Reset: true}
	case providertest.Timeout:
		fault = sesfake.Fault{Hang: true}
	case providertest.Garbage:
		fault = sesfake.Fault{Garbage: true}
	}
	fake := sesfake.New(opts)
	t.Cleanup(fake.Close)
	fake.SetFault(fault)
	cfg.Endpoint = fake.URL()
	p, err := ses.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return providertest.Harness{
		Sender: p,
		Inbox: func() []providertest.Delivered {
			var out []providertest.Delivered
			for _, m := range fake.Messages() {
				out = append(out, providertest.Delivered{ID: m.MessageID, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML})
			}
			return out
		},
		Secrets:    []string{secretKey},
		RetryAfter: false, // SES's throttling answers carry no retry time
	}
}

func TestNewValidates(t *testing.T) {
	good := awsConfig(accessKey, secretKey)
	tests := []struct {
		name string
		cfg  ses.Config
		want []string
	}{
		{"minimal", ses.Config{AWS: good}, nil},
		{"endpoint", ses.Config{AWS: good, Endpoint: "http://127.0.0.1:4566"}, nil},
		{"no region", ses.Config{AWS: awsclient.Config("", good.Credentials)}, []string{"Config.AWS.Region is required"}},
		{"no credentials", ses.Config{AWS: awsclient.Config("us-east-1", nil)}, []string{"Config.AWS.Credentials is required"}},
		{"bad endpoint", ses.Config{AWS: good, Endpoint: "localhost:4566"}, []string{"Config.Endpoint must be an http or https URL"}},
		{"negative", ses.Config{AWS: good, Timeout: -1, MaxAttempts: -1}, []string{"Config.Timeout is negative", "Config.MaxAttempts is negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ses.New(tt.cfg)
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
	tests := []struct {
		name       string
		fault      sesfake.Fault
		timeout    time.Duration
		class      provider.Class
		status     int
		code       string
		retry      time.Duration
		reasonPart string
	}{
		{"MessageRejected", sesfake.Fault{Code: "MessageRejected", Message: "Email address is not verified. The following identities failed the check in region EU-WEST-1: ada@example.org"}, 0, provider.Permanent, 400, "MessageRejected", 0, "failed the check in region EU-WEST-1: [address]"},
		{"BadRequestException", sesfake.Fault{Code: "BadRequestException", Message: "Illegal address"}, 0, provider.Permanent, 400, "BadRequestException", 0, "Illegal address"},
		{"MailFromDomainNotVerified", sesfake.Fault{Code: "MailFromDomainNotVerifiedException"}, 0, provider.Unavailable, 400, "MailFromDomainNotVerifiedException", 0, "MAIL FROM domain"},
		{"AccountSuspended", sesfake.Fault{Code: "AccountSuspendedException"}, 0, provider.Unavailable, 400, "AccountSuspendedException", 0, "suspended"},
		{"SendingPaused", sesfake.Fault{Code: "SendingPausedException"}, 0, provider.Unavailable, 400, "SendingPausedException", 0, "paused"},
		{"NotFound (configuration set)", sesfake.Fault{Code: "NotFoundException", Message: "Configuration set <x> does not exist."}, 0, provider.Unavailable, 404, "NotFoundException", 0, "does not exist"},
		{"TooManyRequests", sesfake.Fault{Code: "TooManyRequestsException"}, 0, provider.RateLimited, 429, "TooManyRequestsException", 0, ""},
		{"TooManyRequests with Retry-After", sesfake.Fault{Code: "TooManyRequestsException", Header: http.Header{"Retry-After": {"7"}}}, 0, provider.RateLimited, 429, "TooManyRequestsException", 7 * time.Second, ""},
		{"LimitExceeded", sesfake.Fault{Code: "LimitExceededException"}, 0, provider.RateLimited, 400, "LimitExceededException", 0, "Maximum sending rate"},
		{"ThrottlingException (unmodelled)", sesfake.Fault{Code: "ThrottlingException"}, 0, provider.RateLimited, 400, "ThrottlingException", 0, "Rate exceeded"},
		{"AccessDenied", sesfake.Fault{Code: "AccessDeniedException"}, 0, provider.Unavailable, 403, "AccessDeniedException", 0, "not authorized"},
		{"SignatureDoesNotMatch", sesfake.Fault{Code: "SignatureDoesNotMatch"}, 0, provider.Unavailable, 403, "SignatureDoesNotMatch", 0, ""},
		{"unknown 400 code", sesfake.Fault{Code: "ValidationException", Status: 400}, 0, provider.Permanent, 400, "ValidationException", 0, ""},
		{"unknown 409 code", sesfake.Fault{Code: "ConflictSomething", Status: 409}, 0, provider.Unavailable, 409, "ConflictSomething", 0, ""},
		{"InternalFailure 500", sesfake.Fault{Status: 500}, 0, provider.Unavailable, 500, "InternalFailure", 0, "internal error"},
		{"ServiceUnavailable 503", sesfake.Fault{Status: 503}, 0, provider.Unavailable, 503, "ServiceUnavailable", 0, ""},
		{"garbage 200", sesfake.Fault{Garbage: true}, 0, provider.Unavailable, 200, "", 0, "answer is not SES's (text/html)"},
		{"reset", sesfake.Fault{Reset: true}, 0, provider.Unavailable, 0, "", 0, "connection"},
		{"client timeout", sesfake.Fault{Latency: time.Minute}, 100 * time.Millisecond, provider.Unavailable, 0, "", 0, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := sesfake.New(sesfake.Options{})
			defer fake.Close()
			fake.SetFault(tt.fault)
			p, err := ses.New(ses.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL(), Timeout: tt.timeout})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Send(context.Background(), providertest.Message())
			var e *provider.Error
			if !errors.As(err, &e) {
				t.Fatalf("Send: %v, want *provider.Error", err)
			}
			if e.Class != tt.class || e.Status != tt.status || e.Code != tt.code || provider.RetryAfter(err) != tt.retry {
				t.Errorf("got class %v status %d code %q retry %v, want %v %d %q %v (%v)", e.Class, e.Status, e.Code, provider.RetryAfter(err), tt.class, tt.status, tt.code, tt.retry, err)
			}
			if !strings.Contains(e.Reason, tt.reasonPart) && !strings.Contains(err.Error(), tt.reasonPart) {
				t.Errorf("error %q does not contain %q", err, tt.reasonPart)
			}
		})
	}
}

// TestFakeValidation covers answers the fake gives by itself.
func TestFakeValidation(t *testing.T) {
	tests := []struct {
		name  string
		opts  sesfake.Options
		cfg   func(*ses.Config)
		class provider.Class
		code  string
	}{
		{"unverified sender", sesfake.Options{VerifiedIdentities: []string{"other.example"}}, nil, provider.Permanent, "MessageRejected"},
		{"verified domain", sesfake.Options{VerifiedIdentities: []string{"cogmail.example"}}, nil, 0, ""},
		{"unknown configuration set", sesfake.Options{ConfigurationSets: []string{"main"}}, func(c *ses.Config) { c.ConfigurationSetName = "other" }, provider.Unavailable, "NotFoundException"},
		{"known configuration set", sesfake.Options{ConfigurationSets: []string{"main"}}, func(c *ses.Config) { c.ConfigurationSetName = "main" }, 0, ""},
		{"wrong secret", sesfake.Options{Credentials: &aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: "another-secret"}}, nil, provider.Unavailable, "SignatureDoesNotMatch"},
		{"right secret", sesfake.Options{Credentials: &aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}}, nil, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := sesfake.New(tt.opts)
			defer fake.Close()
			cfg := ses.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL()}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			p, err := ses.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Send(context.Background(), providertest.Message())
			var e *provider.Error
			errors.As(err, &e)
			if provider.ClassOf(err) != tt.class || (e != nil && e.Code != tt.code) {
				t.Errorf("Send: %v, want class %v code %q", err, tt.class, tt.code)
			}
		})
	}
}

func TestRequestContents(t *testing.T) {
	fake := sesfake.New(sesfake.Options{ConfigurationSets: []string{"auth-mail"}})
	defer fake.Close()
	p, err := ses.New(ses.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL(), ConfigurationSetName: "auth-mail"})
	if err != nil {
		t.Fatal(err)
	}
	m := providertest.Message()
	m.Tags["pool id"] = "eu-west-1_Abc:1" // characters SES does not allow in tags
	m.Headers = map[string]string{"X-Entity-Ref-ID": "abc"}
	r, err := p.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := fake.Messages()
	if len(got) != 1 {
		t.Fatalf("fake has %d messages", len(got))
	}
	g := got[0]
	if r.ID != g.MessageID || r.Provider != "ses" {
		t.Errorf("receipt %+v, fake id %q", r, g.MessageID)
	}
	checks := []struct {
		what      string
		got, want string
	}{
		{"from", g.From, `"Cogmail" <no-reply@cogmail.example>`},
		{"reply-to", strings.Join(g.ReplyTo, ","), "<support@cogmail.example>"},
		{"configuration set", g.ConfigurationSet, "auth-mail"},
		{"message id tag", g.Tags[ses.MessageIDTag], "msg-0001"},
		{"trigger tag", g.Tags["trigger"], "CustomEmailSender_SignUp"},
		{"sanitised tag", g.Tags["pool_id"], "eu-west-1_Abc_1"},
		{"header", g.Headers["X-Entity-Ref-ID"], "abc"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

// TestMoto sends through moto_server's SES v2 API, the reference emulator.
func TestMoto(t *testing.T) {
	url := motoserver.Shared(t)
	ctx := context.Background()
	cfg := motoserver.Config()
	admin := sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { o.BaseEndpoint = aws.String(url) })
	if _, err := admin.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("no-reply@cogmail.example")}); err != nil {
		t.Fatalf("CreateEmailIdentity: %v", err)
	}
	p, err := ses.New(ses.Config{AWS: cfg, Endpoint: url})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		from  string
		class provider.Class
		code  string
	}{
		{"verified sender", "no-reply@cogmail.example", 0, ""},
		{"unverified sender", "someone@unverified.example", provider.Permanent, "MessageRejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := providertest.Message()
			m.From.Email = tt.from
			r, err := p.Send(ctx, m)
			if provider.ClassOf(err) != tt.class {
				t.Fatalf("Send: %v, want class %v", err, tt.class)
			}
			if err == nil {
				if got := motoSent(t, url, r.ID); got.Subject != m.Subject || len(got.Destinations.ToAddresses) != 1 || got.Destinations.ToAddresses[0] != m.To {
					t.Errorf("moto has %+v for MessageId %q", got, r.ID)
				}
			}
			var e *provider.Error
			if errors.As(err, &e) && e.Code != tt.code {
				t.Errorf("code %q, want %q (%v)", e.Code, tt.code, err)
			}
		})
	}
}

type motoMessage struct {
	ID           string `json:"id"`
	Subject      string `json:"subject"`
	Destinations struct {
		ToAddresses []string `json:"ToAddresses"`
	} `json:"destinations"`
}

// motoSent reads a sent message back from moto's model data.
func motoSent(t *testing.T, url, id string) motoMessage {
	t.Helper()
	resp, err := http.Get(url + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var data struct {
		SES struct {
			Message []motoMessage `json:"Message"`
		} `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		t.Fatalf("moto data.json: %v", err)
	}
	for _, m := range data.SES.Message {
		if m.ID == id {
			return m
		}
	}
	return motoMessage{}
}

func BenchmarkSend(b *testing.B) {
	fake := sesfake.New(sesfake.Options{})
	defer fake.Close()
	p, err := ses.New(ses.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL()})
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

func TestAddresses(t *testing.T) { providertest.CheckAddresses(t, harness, false) }
