package smsvoice_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/providertest"
	"github.com/cogmail/cogmail/pkg/provider/smsvoice"
	"github.com/cogmail/cogmail/pkg/provider/smsvoice/smsvoicefake"
)

const (
	accessKey = "AKIAFAKEFAKEFAKE0001"
	secretKey = "fake/secret/0123456789abcdefghijklmnopqrst"
)

func awsConfig(akid, secret string) aws.Config {
	return awsclient.Config("eu-west-1", credentials.NewStaticCredentialsProvider(akid, secret, ""))
}

func TestConformance(t *testing.T) { providertest.RunSMS(t, harness) }

func harness(t *testing.T, f providertest.Fault) providertest.SMSHarness {
	opts := smsvoicefake.Options{Credentials: &aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}}
	cfg := smsvoice.Config{AWS: awsConfig(accessKey, secretKey), Now: providertest.Now}
	var fault smsvoicefake.Fault
	m := providertest.SMS()
	switch f {
	case providertest.ServerError:
		fault = smsvoicefake.Fault{Code: "InternalServerException"}
	case providertest.Unauthorized:
		cfg.AWS = awsConfig("AKIAOTHEROTHEROTHER1", secretKey) // the fake answers 400 UnrecognizedClientException
	case providertest.Forbidden:
		fault = smsvoicefake.Fault{Code: "AccessDeniedException"}
	case providertest.RateLimited:
		fault = smsvoicefake.Fault{Code: "ThrottlingException"}
	case providertest.BadRecipient:
		fault = smsvoicefake.Fault{Code: "ValidationException", Reason: "INVALID_PARAMETER", Message: "Destination " + m.To + " is not valid."}
	case providertest.PayloadRejected:
		fault = smsvoicefake.Fault{Code: "ValidationException", Reason: "INVALID_PARAMETER", Message: "MessageBody " + m.Text + " is invalid."}
	case providertest.OptedOut:
		opts.OptedOut = []string{m.To}
	case providertest.ConnectionReset:
		fault = smsvoicefake.Fault{Reset: true}
	case providertest.Timeout:
		fault = smsvoicefake.Fault{Hang: true}
	case providertest.Garbage:
		fault = smsvoicefake.Fault{Garbage: true}
	}
	fake := smsvoicefake.New(opts)
	t.Cleanup(fake.Close)
	fake.SetFault(fault)
	cfg.Endpoint = fake.URL()
	p, err := smsvoice.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return providertest.SMSHarness{
		Sender: p,
		Inbox: func() []providertest.DeliveredSMS {
			var out []providertest.DeliveredSMS
			for _, m := range fake.Messages() {
				out = append(out, providertest.DeliveredSMS{ID: m.MessageID, To: m.DestinationPhoneNumber, Text: m.MessageBody})
			}
			return out
		},
		Secrets:    []string{secretKey},
		RetryAfter: false, // ThrottlingException carries no retry time
	}
}

// TestSendInput: the send is TRANSACTIONAL from the configured identity,
// configuration set and maximum price, with our message id and trigger in
// its Context (echoed in the configuration set's events).
func TestSendInput(t *testing.T) {
	t.Parallel()
	fake := smsvoicefake.New(smsvoicefake.Options{OriginationIdentities: []string{"+12065550100"}, ConfigurationSets: []string{"cogmail"}})
	defer fake.Close()
	p, err := smsvoice.New(smsvoice.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL(),
		OriginationIdentity: "+12065550100", ConfigurationSet: "cogmail", MaxPrice: "0.50"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.SendSMS(context.Background(), providertest.SMS()); err != nil {
		t.Fatal(err)
	}
	got := fake.Messages()
	if len(got) != 1 {
		t.Fatalf("messages = %+v", got)
	}
	m := got[0]
	if m.MessageType != "TRANSACTIONAL" || m.OriginationIdentity != "+12065550100" || m.ConfigurationSetName != "cogmail" || m.MaxPrice != "0.50" ||
		m.Context[smsvoice.ContextMessageID] != "msg-0001" || m.Context[smsvoice.ContextTrigger] != "CustomSMSSender_SignUp" {
		t.Errorf("sent %+v", m)
	}
}

func TestClassification(t *testing.T) {
	tests := []struct {
		name     string
		opts     smsvoicefake.Options
		fault    smsvoicefake.Fault
		class    provider.Class
		code     string
		suppress bool
	}{
		{"opted out", smsvoicefake.Options{OptedOut: []string{providertest.SMS().To}}, smsvoicefake.Fault{}, provider.Permanent, "ConflictException/DESTINATION_PHONE_NUMBER_OPTED_OUT", true},
		{"number blocked by us", smsvoicefake.Options{}, smsvoicefake.Fault{Code: "ConflictException", Reason: "DESTINATION_PHONE_NUMBER_BLOCKED_BY_PROTECT_NUMBER_OVERRIDE"}, provider.Permanent, "ConflictException/DESTINATION_PHONE_NUMBER_BLOCKED_BY_PROTECT_NUMBER_OVERRIDE", false},
		{"sandbox destination", smsvoicefake.Options{}, smsvoicefake.Fault{Code: "ConflictException", Reason: "DESTINATION_PHONE_NUMBER_NOT_VERIFIED"}, provider.Unavailable, "ConflictException/DESTINATION_PHONE_NUMBER_NOT_VERIFIED", false},
		{"country blocked by protect configuration", smsvoicefake.Options{}, smsvoicefake.Fault{Code: "ConflictException", Reason: "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION"}, provider.Unavailable, "ConflictException/DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION", false},
		{"other conflict", smsvoicefake.Options{}, smsvoicefake.Fault{Code: "ConflictException", Reason: "RESOURCE_NOT_ACTIVE"}, provider.Unavailable, "ConflictException/RESOURCE_NOT_ACTIVE", false},
		{"invalid parameter", smsvoicefake.Options{}, smsvoicefake.Fault{Code: "ValidationException", Reason: "INVALID_PARAMETER"}, provider.Permanent, "ValidationException/INVALID_PARAMETER", false},
		{"over max price", smsvoicefake.Options{}, smsvoicefake.Fault{Code: "ValidationException", Reason: "PRICE_OVER_THRESHOLD"}, provider.Permanent, "ValidationException/PRICE_OVER_THRESHOLD", false},
		{"country not enabled", smsvoicefake.Options{}, smsvoicefake.Fault{Code: "ValidationException", Reason: "COUNTRY_NOT_ENABLED"}, provider.Unavailable, "ValidationException/COUNTRY_NOT_ENABLED", false},
		{"country blocked", smsvoicefake.Options{}, smsvoicefake.Fault{Code: "ValidationException", Reason: "DESTINATION_COUNTRY_BLOCKED"}, provider.Unavailable, "ValidationException/DESTINATION_COUNTRY_BLOCKED", false},
		{"no identity for the country", smsvoicefake.Options{}, smsvoicefake.Fault{Code: "ValidationException", Reason: "INVALID_IDENTITY_FOR_DESTINATION_COUNTRY"}, provider.Unavailable, "ValidationException/INVALID_IDENTITY_FOR_DESTINATION_COUNTRY", false},
		{"throttled", smsvoicefake.Options{}, smsvoicefake.Fault{Code: "ThrottlingException"}, provider.RateLimited, "ThrottlingException", false},
		{"monthly spend limit", smsvoicefake.Options{}, smsvoicefake.Fault{Code: "ServiceQuotaExceededException", Reason: "MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT"}, provider.Unavailable, "ServiceQuotaExceededException/MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT", false},
		{"unknown identity", smsvoicefake.Options{OriginationIdentities: []string{"+12065550199"}}, smsvoicefake.Fault{}, provider.Unavailable, "ResourceNotFoundException", false},
		{"access denied", smsvoicefake.Options{}, smsvoicefake.Fault{Code: "AccessDeniedException"}, provider.Unavailable, "AccessDeniedException", false},
		{"internal", smsvoicefake.Options{}, smsvoicefake.Fault{Code: "InternalServerException"}, provider.Unavailable, "InternalServerException", false},
		{"503", smsvoicefake.Options{}, smsvoicefake.Fault{Status: 503}, provider.Unavailable, "ServiceUnavailable", false},
		{"unknown 400 code", smsvoicefake.Options{}, smsvoicefake.Fault{Code: "SomethingNew", Status: 400}, provider.Permanent, "SomethingNew", false},
		{"garbage", smsvoicefake.Options{}, smsvoicefake.Fault{Garbage: true}, provider.Unavailable, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := smsvoicefake.New(tt.opts)
			defer fake.Close()
			fake.SetFault(tt.fault)
			p, err := smsvoice.New(smsvoice.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL(), OriginationIdentity: "+12065550100"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.SendSMS(context.Background(), providertest.SMS())
			var e *provider.Error
			if !errors.As(err, &e) {
				t.Fatalf("SendSMS: %v, want *provider.Error", err)
			}
			if e.Class != tt.class || e.Code != tt.code || provider.Suppresses(err) != tt.suppress || e.Status == 0 {
				t.Errorf("got class %v code %q suppress %v status %d, want %v %q %v (%v)", e.Class, e.Code, provider.Suppresses(err), e.Status, tt.class, tt.code, tt.suppress, err)
			}
			if len(fake.Messages()) != 0 {
				t.Error("the fake accepted the message")
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	fake := smsvoicefake.New(smsvoicefake.Options{})
	defer fake.Close()
	fake.SetFault(smsvoicefake.Fault{Code: "ThrottlingException", Header: http.Header{"Retry-After": {"7"}}})
	p, err := smsvoice.New(smsvoice.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.SendSMS(context.Background(), providertest.SMS())
	if provider.ClassOf(err) != provider.RateLimited || provider.RetryAfter(err) != 7*time.Second {
		t.Errorf("SendSMS: %v, want rate limited for 7s", err)
	}
}

// TestRedaction: the opt-out answer quotes the number; a message quoting
// the text too gives an error and a log line holding neither.
func TestRedaction(t *testing.T) {
	t.Parallel()
	m := providertest.SMS()
	for _, f := range []smsvoicefake.Fault{{}, {Code: "ValidationException", Reason: "INVALID_PARAMETER", Message: m.To + " / " + strings.TrimPrefix(m.To, "+") + ": " + m.Text}} {
		fake := smsvoicefake.New(smsvoicefake.Options{OptedOut: []string{m.To}})
		fake.SetFault(f)
		p, err := smsvoice.New(smsvoice.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.SendSMS(context.Background(), m)
		providertest.CheckSMSRedacted(t, err, m)
		fake.Close()
	}
}

func TestFromEnv(t *testing.T) {
	good := awsConfig(accessKey, secretKey)
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"defaults", nil, nil},
		{"all set", map[string]string{smsvoice.EnvOriginationIdentity: "arn:aws:sms-voice:eu-west-1:123456789012:pool/pool-0123", smsvoice.EnvConfigurationSet: "cogmail", smsvoice.EnvMaxPrice: "0.50", smsvoice.EnvEndpoint: "http://127.0.0.1:4566"}, nil},
		{"bad values in variable order", map[string]string{smsvoice.EnvOriginationIdentity: "my number", smsvoice.EnvConfigurationSet: "a b", smsvoice.EnvMaxPrice: "1", smsvoice.EnvEndpoint: "localhost"},
			[]string{smsvoice.EnvEndpoint, smsvoice.EnvOriginationIdentity, smsvoice.EnvConfigurationSet, smsvoice.EnvMaxPrice}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := smsvoice.FromEnv(func(k string) string { return tt.env[k] }, good)
			err := cfg.Validate()
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
		})
	}
}

// FuzzErrorBody: whatever the service (or something in its place)
// answers, SendSMS returns a classified *provider.Error that holds neither
// the number nor the text.
func FuzzErrorBody(f *testing.F) {
	f.Add(400, `{"__type":"ConflictException","message":"+14155552671 is opted out","Reason":"DESTINATION_PHONE_NUMBER_OPTED_OUT"}`)
	f.Add(400, `{"__type":"ValidationException","message":"bad","Reason":"INVALID_PARAMETER","Fields":[{"Name":"DestinationPhoneNumber","Message":"+14155552671"}]}`)
	f.Add(400, `{"__type":"+14155552671","message":"Your Cogmail code is 482916."}`)
	f.Add(500, `<html>oops</html>`)
	f.Add(200, `{"MessageId":`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 200 || status > 599 {
			return
		}
		cfg := awsConfig(accessKey, secretKey)
		cfg.HTTPClient = clientFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
				Body: io.NopCloser(bytes.NewReader([]byte(body))), Request: r}, nil
		})
		p, err := smsvoice.New(smsvoice.Config{AWS: cfg, Endpoint: "http://sms-voice.invalid"})
		if err != nil {
			t.Fatal(err)
		}
		m := providertest.SMS()
		_, err = p.SendSMS(context.Background(), m)
		if err == nil {
			return
		}
		if provider.ClassOf(err) == 0 {
			t.Fatalf("unclassified %v", err)
		}
		providertest.CheckSMSRedacted(t, err, m)
	})
}

type clientFunc func(*http.Request) (*http.Response, error)

func (f clientFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// TestPingConfigurationSet: Ping finds a missing configuration set, which
// every send would name.
func TestPingConfigurationSet(t *testing.T) {
	fake := smsvoicefake.New(smsvoicefake.Options{ConfigurationSets: []string{"cogmail"}})
	defer fake.Close()
	for _, tt := range []struct {
		set  string
		want provider.Error
	}{
		{"", provider.Error{}},
		{"cogmail", provider.Error{}},
		{"other", provider.Error{Class: provider.Unavailable, Status: 400, Code: "ResourceNotFoundException"}},
	} {
		p, err := smsvoice.New(smsvoice.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL(), ConfigurationSet: tt.set})
		if err != nil {
			t.Fatal(err)
		}
		providertest.CheckPing(t, p.Ping(context.Background()), len(fake.Messages()), tt.want, secretKey)
	}
}
