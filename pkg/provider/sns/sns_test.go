package sns_test

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
	"github.com/cogmail/cogmail/pkg/provider/sns"
	"github.com/cogmail/cogmail/pkg/provider/sns/snsfake"
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
	opts := snsfake.Options{Credentials: &aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}}
	cfg := sns.Config{AWS: awsConfig(accessKey, secretKey), Now: providertest.Now, SenderID: "Cogmail"}
	var fault snsfake.Fault
	m := providertest.SMS()
	switch f {
	case providertest.ServerError:
		fault = snsfake.Fault{Status: http.StatusInternalServerError}
	case providertest.Unauthorized:
		cfg.AWS = awsConfig("AKIAOTHEROTHEROTHER1", secretKey) // the fake answers 403 InvalidClientTokenId
	case providertest.Forbidden:
		fault = snsfake.Fault{Code: "AuthorizationError"}
	case providertest.RateLimited:
		fault = snsfake.Fault{Code: "Throttled"}
	case providertest.BadRecipient:
		// SNS quotes the number it refuses: the error must not.
		fault = snsfake.Fault{Code: "InvalidParameter", Message: "Invalid parameter: PhoneNumber Reason: " + m.To + " is not valid to publish to"}
	case providertest.PayloadRejected:
		fault = snsfake.Fault{Code: "InvalidParameter", Message: "Invalid parameter: Message too long: " + m.Text}
	case providertest.OptedOut:
		opts.OptedOut = []string{m.To}
	case providertest.ConnectionReset:
		fault = snsfake.Fault{Reset: true}
	case providertest.Timeout:
		fault = snsfake.Fault{Hang: true}
	case providertest.Garbage:
		fault = snsfake.Fault{Garbage: true}
	}
	fake := snsfake.New(opts)
	t.Cleanup(fake.Close)
	fake.SetFault(fault)
	cfg.Endpoint = fake.URL()
	p, err := sns.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return providertest.SMSHarness{
		Sender: p,
		Inbox: func() []providertest.DeliveredSMS {
			var out []providertest.DeliveredSMS
			for _, m := range append(fake.Messages(), fake.Dropped()...) {
				out = append(out, providertest.DeliveredSMS{ID: m.MessageID, To: m.PhoneNumber, Text: m.Message})
			}
			return out
		},
		Secrets:    []string{secretKey},
		RetryAfter: false, // SNS's Throttled answers carry no retry time
	}
}

// TestPublishAttributes: the publish is Transactional and carries the
// configured sender ID, origination number and maximum price.
func TestPublishAttributes(t *testing.T) {
	t.Parallel()
	fake := snsfake.New(snsfake.Options{})
	defer fake.Close()
	p, err := sns.New(sns.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL(),
		SenderID: "Cogmail", OriginationNumber: "+12065550100", MaxPrice: "0.50"})
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
	if m.SMSType != "Transactional" || m.SenderID != "Cogmail" || m.OriginationNumber != "+12065550100" || m.MaxPrice != "0.50" {
		t.Errorf("attributes %+v", m)
	}
}

// TestSkipOptOutCheck: without the check, a publish to an opted-out number
// is accepted and dropped by SNS, as SNS does; nothing says so.
func TestSkipOptOutCheck(t *testing.T) {
	t.Parallel()
	m := providertest.SMS()
	fake := snsfake.New(snsfake.Options{OptedOut: []string{m.To}})
	defer fake.Close()
	p, err := sns.New(sns.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL(), SkipOptOutCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.SendSMS(context.Background(), m); err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	if len(fake.Messages()) != 0 || len(fake.Dropped()) != 1 {
		t.Errorf("delivered %d, dropped %d; want 0 and 1", len(fake.Messages()), len(fake.Dropped()))
	}
}

func TestClassification(t *testing.T) {
	tests := []struct {
		name     string
		fault    snsfake.Fault
		class    provider.Class
		status   int
		code     string
		retry    time.Duration
		suppress bool
	}{
		{"InvalidParameter (number)", snsfake.Fault{Code: "InvalidParameter"}, provider.Permanent, 400, "InvalidParameter", 0, false},
		{"ParameterValueInvalid", snsfake.Fault{Code: "ParameterValueInvalid"}, provider.Permanent, 400, "ParameterValueInvalid", 0, false},
		{"ValidationException", snsfake.Fault{Code: "ValidationException"}, provider.Permanent, 400, "ValidationException", 0, false},
		{"OptedOut", snsfake.Fault{Code: "OptedOut"}, provider.Permanent, 400, "OptedOut", 0, true},
		{"Throttled", snsfake.Fault{Code: "Throttled"}, provider.RateLimited, 429, "Throttled", 0, false},
		{"Throttled with Retry-After", snsfake.Fault{Code: "Throttled", Header: http.Header{"Retry-After": {"7"}}}, provider.RateLimited, 429, "Throttled", 7 * time.Second, false},
		{"Throttling 400 (SDK throttle code)", snsfake.Fault{Code: "Throttling", Status: 400}, provider.RateLimited, 400, "Throttling", 0, false},
		{"KMSThrottling", snsfake.Fault{Code: "KMSThrottling"}, provider.RateLimited, 400, "KMSThrottling", 0, false},
		{"AuthorizationError", snsfake.Fault{Code: "AuthorizationError"}, provider.Unavailable, 403, "AuthorizationError", 0, false},
		{"KMSDisabled 400", snsfake.Fault{Code: "KMSDisabled", Status: 400}, provider.Unavailable, 400, "KMSDisabled", 0, false},
		{"NotFound", snsfake.Fault{Code: "NotFound"}, provider.Unavailable, 404, "NotFound", 0, false},
		{"InternalError", snsfake.Fault{Code: "InternalError"}, provider.Unavailable, 500, "InternalError", 0, false},
		{"ServiceUnavailable 503", snsfake.Fault{Status: 503}, provider.Unavailable, 503, "ServiceUnavailable", 0, false},
		{"unknown 400 code", snsfake.Fault{Code: "SomethingNew", Status: 400}, provider.Permanent, 400, "SomethingNew", 0, false},
		{"garbage 200", snsfake.Fault{Garbage: true}, provider.Unavailable, 200, "", 0, false},
		{"reset", snsfake.Fault{Reset: true}, provider.Unavailable, 0, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := snsfake.New(snsfake.Options{})
			defer fake.Close()
			p, err := sns.New(sns.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL(), SkipOptOutCheck: true})
			if err != nil {
				t.Fatal(err)
			}
			fake.SetFault(tt.fault)
			_, err = p.SendSMS(context.Background(), providertest.SMS())
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

// TestRedaction: an SNS message quoting the number and the text gives an
// error, a %+v and a slog line holding neither, nor the code.
func TestRedaction(t *testing.T) {
	t.Parallel()
	m := providertest.SMS()
	fake := snsfake.New(snsfake.Options{})
	defer fake.Close()
	fake.SetFault(snsfake.Fault{Code: "InvalidParameter", Message: "Invalid parameter: PhoneNumber Reason: " + m.To + " (" + strings.TrimPrefix(m.To, "+") + ") is not valid; message " + m.Text})
	p, err := sns.New(sns.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL(), SkipOptOutCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.SendSMS(context.Background(), m)
	providertest.CheckSMSRedacted(t, err, m)
}

func TestFromEnv(t *testing.T) {
	good := awsConfig(accessKey, secretKey)
	tests := []struct {
		name string
		env  map[string]string
		aws  aws.Config
		want []string
	}{
		{"defaults", nil, good, nil},
		{"all set", map[string]string{sns.EnvSenderID: "Cogmail", sns.EnvOriginationNumber: "+12065550100", sns.EnvMaxPrice: "0.25", sns.EnvCheckOptOut: "false", sns.EnvEndpoint: "http://127.0.0.1:4566"}, good, nil},
		{"bad values in variable order", map[string]string{sns.EnvSenderID: "Cogmail Ltd!", sns.EnvOriginationNumber: "2065550100", sns.EnvMaxPrice: "cheap", sns.EnvCheckOptOut: "maybe", sns.EnvEndpoint: "localhost"},
			good, []string{sns.EnvEndpoint, sns.EnvSenderID, sns.EnvOriginationNumber, sns.EnvMaxPrice, sns.EnvCheckOptOut}},
		{"digits-only sender id", map[string]string{sns.EnvSenderID: "12345"}, good, []string{sns.EnvSenderID}},
		{"no region", nil, awsclient.Config("", good.Credentials), []string{"AWS_REGION"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sns.FromEnv(func(k string) string { return tt.env[k] }, tt.aws)
			err := cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := sns.New(cfg); err != nil {
					t.Fatalf("New: %v", err)
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
	if cfg := sns.FromEnv(func(k string) string { return map[string]string{sns.EnvCheckOptOut: "false"}[k] }, good); !cfg.SkipOptOutCheck {
		t.Error("COGMAIL_SNS_CHECK_OPT_OUT=false: SkipOptOutCheck false")
	}
}

// FuzzErrorBody: whatever SNS (or something in its place) answers, SendSMS
// returns a classified *provider.Error whose text holds no digit run of
// four or more (no number, no code).
func FuzzErrorBody(f *testing.F) {
	f.Add(400, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid parameter: PhoneNumber Reason: +14155552671 is not valid</Message></Error><RequestId>1</RequestId></ErrorResponse>`)
	f.Add(429, `<ErrorResponse><Error><Code>Throttled</Code><Message>Rate exceeded</Message></Error></ErrorResponse>`)
	f.Add(500, `<html>oops 482916</html>`)
	f.Add(200, `<PublishResponse><PublishResult></PublishResult></PublishResponse>`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 200 || status > 599 {
			return
		}
		cfg := awsConfig(accessKey, secretKey)
		cfg.HTTPClient = answer(status, body)
		p, err := sns.New(sns.Config{AWS: cfg, Endpoint: "http://sns.invalid", SkipOptOutCheck: true})
		if err != nil {
			t.Fatal(err)
		}
		m := providertest.SMS()
		_, err = p.SendSMS(context.Background(), m)
		if err == nil {
			return // a well-formed success
		}
		if provider.ClassOf(err) == 0 {
			t.Fatalf("unclassified %v", err)
		}
		providertest.CheckSMSRedacted(t, err, m)
	})
}

// answer is an HTTP client that answers every request with status and
// body, in process.
func answer(status int, body string) aws.HTTPClient {
	return clientFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"text/xml"}},
			Body: io.NopCloser(bytes.NewReader([]byte(body))), Request: r}, nil
	})
}

type clientFunc func(*http.Request) (*http.Response, error)

func (f clientFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// TestPingChecksOptOutPermission: a role that may read SMS attributes but
// not check opt-outs fails Ping, as every send would fail, unless the check
// is off.
func TestPingChecksOptOutPermission(t *testing.T) {
	for _, skip := range []bool{false, true} {
		fake := snsfake.New(snsfake.Options{Denied: []string{"CheckIfPhoneNumberIsOptedOut"}})
		p, err := sns.New(sns.Config{AWS: awsConfig(accessKey, secretKey), Endpoint: fake.URL(), SkipOptOutCheck: skip})
		if err != nil {
			t.Fatal(err)
		}
		err = p.Ping(context.Background())
		if skip {
			providertest.CheckPing(t, err, len(fake.Messages()), provider.Error{})
		} else {
			providertest.CheckPing(t, err, len(fake.Messages()), provider.Error{Class: provider.Unavailable, Status: 403, Code: "AuthorizationError"}, secretKey)
		}
		fake.Close()
	}
}
