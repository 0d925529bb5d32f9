package ping_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cogmail/cogmail/internal/ops/ping"
	"github.com/cogmail/cogmail/pkg/awsclient"
	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/mailgun"
	"github.com/cogmail/cogmail/pkg/provider/mailgun/mailgunfake"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid"
	"github.com/cogmail/cogmail/pkg/provider/sendgrid/sendgridfake"
	"github.com/cogmail/cogmail/pkg/provider/ses"
	"github.com/cogmail/cogmail/pkg/provider/ses/sesfake"
	"github.com/cogmail/cogmail/pkg/provider/smtp"
	"github.com/cogmail/cogmail/pkg/provider/smtp/smtpfake"
)

const (
	sgKey    = "SG.test-key-0123456789abcdef"
	mgKey    = "key-mailgun-0123456789abcdef"
	smtpUser = "relay-user"
	smtpPass = "relay-password-0123456789"
)

var testMsg = ping.TestMessage(provider.Address{Email: "no-reply@example.com", Name: "Acme"}, "")

// check asserts a result's status and problem, that its message has want,
// and that it holds no secret.
func check(t *testing.T, r ping.Result, status ping.Status, problem ping.Problem, want string) {
	t.Helper()
	if r.Status != status || r.Problem != problem {
		t.Errorf("got %s/%q, want %s/%q: %s", r.Status, r.Problem, status, problem, r.Message)
	}
	if !strings.Contains(r.Message, want) {
		t.Errorf("message %q lacks %q", r.Message, want)
	}
	for _, s := range []string{sgKey, mgKey, smtpPass, "wrong-key", "wrong-password"} {
		if strings.Contains(r.Message, s) {
			t.Errorf("message leaks a secret: %q", r.Message)
		}
	}
}

// closedURL is an address where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestTestMessageIsValid(t *testing.T) {
	t.Parallel()
	if err := testMsg.Validate(); err != nil || testMsg.To != "no-reply@example.com" {
		t.Fatalf("TestMessage = %+v, %v", testMsg, err)
	}
}

func TestSendGrid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		key     string
		fault   sendgridfake.Fault
		closed  bool
		status  ping.Status
		problem ping.Problem
		want    string
	}{
		{"the key works", sgKey, sendgridfake.Fault{}, false, ping.OK, "", "sandbox request accepted"},
		{"401 bad key", "SG.wrong-key", sendgridfake.Fault{}, false, ping.Failed, ping.Credentials, "the API key is rejected (401"},
		{"403 forbidden", sgKey, sendgridfake.Fault{Status: 403, Message: "The from address does not match a verified Sender Identity"}, false,
			ping.Failed, ping.Credentials, "verified Sender Identity"},
		{"503", sgKey, sendgridfake.Fault{Status: 503}, false, ping.Failed, ping.Unavailable, "the provider is failing (503"},
		{"429", sgKey, sendgridfake.Fault{Status: 429}, false, ping.Failed, ping.Throttled, "throttling"},
		{"400", sgKey, sendgridfake.Fault{Status: 400, Message: "bad from", Field: "from.email"}, false, ping.Failed, ping.Rejected, "from.email: bad from"},
		{"not SendGrid", sgKey, sendgridfake.Fault{Garbage: true}, false, ping.Failed, ping.Unexpected, "not SendGrid's"},
		{"reset", sgKey, sendgridfake.Fault{Reset: true}, false, ping.Failed, ping.Unreachable, "cannot reach"},
		{"nothing listens", sgKey, sendgridfake.Fault{}, true, ping.Failed, ping.Unreachable, "connection refused"},
		{"no mail.send scope", sgKey + "-read-only", sendgridfake.Fault{}, false, ping.Failed, ping.Permission, "lacks the mail.send scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := sendgridfake.Options{APIKey: sgKey}
			if strings.HasSuffix(tt.key, "-read-only") {
				opts = sendgridfake.Options{APIKey: tt.key, Scopes: []string{"stats.read"}}
			}
			fake := sendgridfake.New(opts)
			t.Cleanup(fake.Close)
			fake.SetFault(tt.fault)
			base := fake.URL()
			if tt.closed {
				base = closedURL(t)
			}
			r := ping.SendGrid(context.Background(), sendgrid.Config{APIKey: tt.key, BaseURL: base}, testMsg)
			check(t, r, tt.status, tt.problem, tt.want)
			for _, m := range fake.Messages() {
				if !m.Sandbox {
					t.Error("the fake got a request without sandbox_mode: it would be delivered")
				}
			}
			if tt.status == ping.OK && len(fake.Messages()) != 1 {
				t.Errorf("the fake got %d requests, want 1", len(fake.Messages()))
			}
		})
	}
}

func TestMailgun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		key     string
		domain  string
		fault   mailgunfake.Fault
		status  ping.Status
		problem ping.Problem
		want    string
	}{
		{"the key works", mgKey, "mg.example.com", mailgunfake.Fault{}, ping.OK, "", "the domain mg.example.com work"},
		{"401 bad key", "wrong-key", "mg.example.com", mailgunfake.Fault{}, ping.Failed, ping.Credentials, "the API key is rejected (401"},
		{"404 domain", mgKey, "other.example.com", mailgunfake.Fault{}, ping.Failed, ping.Domain, "other.example.com is not in this Mailgun account"},
		{"500", mgKey, "mg.example.com", mailgunfake.Fault{Status: 500}, ping.Failed, ping.Unavailable, "(500"},
		{"hang up", mgKey, "mg.example.com", mailgunfake.Fault{Reset: true}, ping.Failed, ping.Unreachable, "cannot reach"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := mailgunfake.New(mailgunfake.Options{APIKey: mgKey, Domain: "mg.example.com"})
			t.Cleanup(fake.Close)
			fake.SetFault(tt.fault)
			r := ping.Mailgun(context.Background(), mailgun.Config{APIKey: tt.key, Domain: tt.domain, BaseURL: fake.URL()}, testMsg)
			check(t, r, tt.status, tt.problem, tt.want)
			for _, m := range fake.Messages() {
				if !m.TestMode {
					t.Error("the fake got a message without o:testmode: it would be delivered")
				}
			}
		})
	}
}

func TestSMTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fake      smtpfake.Options
		fault     smtpfake.Fault
		cfg       smtp.Config // Host and Port are the fake's
		trustFake bool
		status    ping.Status
		problem   ping.Problem
		want      string
	}{
		{"open relay without TLS", smtpfake.Options{}, smtpfake.Fault{}, smtp.Config{TLS: smtp.NoTLS}, false,
			ping.OK, "", "no TLS (policy none), no AUTH (no username); quit without sending; no SMTPUTF8"},
		{"a relay with SMTPUTF8", smtpfake.Options{SMTPUTF8: true}, smtpfake.Fault{}, smtp.Config{TLS: smtp.NoTLS}, false,
			ping.OK, "", "; SMTPUTF8 offered: it takes addresses with a non-ASCII local part"},
		{"STARTTLS and AUTH", smtpfake.Options{Username: smtpUser, Password: smtpPass, TLS: smtpfake.StartTLS}, smtpfake.Fault{},
			smtp.Config{Username: smtpUser, Password: smtpPass}, true, ping.OK, "", "STARTTLS (TLS 1.3), AUTH accepted"},
		{"AUTH LOGIN", smtpfake.Options{Username: smtpUser, Password: smtpPass, TLS: smtpfake.StartTLS}, smtpfake.Fault{},
			smtp.Config{Username: smtpUser, Password: smtpPass, Auth: "LOGIN"}, true, ping.OK, "", "AUTH accepted"},
		{"implicit TLS", smtpfake.Options{TLS: smtpfake.ImplicitTLS}, smtpfake.Fault{}, smtp.Config{TLS: smtp.ImplicitTLS}, true,
			ping.OK, "", "TLS (TLS 1.3)"},
		{"wrong password", smtpfake.Options{Username: smtpUser, Password: smtpPass, TLS: smtpfake.StartTLS}, smtpfake.Fault{},
			smtp.Config{Username: smtpUser, Password: "wrong-password-123"}, true, ping.Failed, ping.Credentials, "rejected the username or password (535"},
		{"AUTH temporarily refused", smtpfake.Options{Username: smtpUser, Password: smtpPass}, smtpfake.Fault{Stage: smtpfake.Auth, Code: 454, Enhanced: "4.7.0"},
			smtp.Config{Username: smtpUser, Password: smtpPass, TLS: smtp.NoTLS}, false, ping.Failed, ping.Throttled, "454 4.7.0"},
		{"no AUTH offered", smtpfake.Options{}, smtpfake.Fault{},
			smtp.Config{Username: smtpUser, Password: smtpPass, TLS: smtp.NoTLS}, false, ping.Failed, ping.Credentials, "does not offer AUTH"},
		{"STARTTLS required, not offered", smtpfake.Options{}, smtpfake.Fault{}, smtp.Config{}, false,
			ping.Failed, ping.TLS, "does not offer STARTTLS, which the TLS policy requires"},
		{"STARTTLS opportunistic, not offered", smtpfake.Options{}, smtpfake.Fault{}, smtp.Config{TLS: smtp.StartTLSOpportunistic}, false,
			ping.Warning, ping.TLS, "mail would go unencrypted"},
		{"untrusted certificate", smtpfake.Options{TLS: smtpfake.StartTLS}, smtpfake.Fault{}, smtp.Config{}, false,
			ping.Failed, ping.TLS, "certificate is not trusted"},
		{"refused at the greeting", smtpfake.Options{}, smtpfake.Fault{Stage: smtpfake.Greeting, Code: 554, Message: "No SMTP service here"},
			smtp.Config{TLS: smtp.NoTLS}, false, ping.Failed, ping.Unavailable, "refused greeting (554 5.0.0 No SMTP service here)"},
		{"not SMTP", smtpfake.Options{}, smtpfake.Fault{Garbage: true}, smtp.Config{TLS: smtp.NoTLS}, false,
			ping.Failed, ping.Unexpected, "does not speak SMTP"},
		{"reset", smtpfake.Options{}, smtpfake.Fault{Reset: true}, smtp.Config{TLS: smtp.NoTLS}, false,
			ping.Failed, ping.Unreachable, "connection reset"},
		{"no answer", smtpfake.Options{}, smtpfake.Fault{Hang: true}, smtp.Config{TLS: smtp.NoTLS, Timeout: 200 * time.Millisecond}, false,
			ping.Failed, ping.Unreachable, "no answer within 200ms (greeting)"},
		{"a relay that echoes the password", smtpfake.Options{Username: smtpUser, Password: smtpPass},
			smtpfake.Fault{Stage: smtpfake.Auth, Code: 535, Enhanced: "5.7.8", Message: "credentials " + smtpUser + ":" + smtpPass + " rejected"},
			smtp.Config{Username: smtpUser, Password: smtpPass, TLS: smtp.NoTLS}, false,
			ping.Failed, ping.Credentials, "rejected the username or password (535 5.7.8 credentials relay-user:REDACTED rejected)"},
		{"AUTH mechanism not offered", smtpfake.Options{Username: smtpUser, Password: smtpPass, AuthMechanisms: []string{"LOGIN"}}, smtpfake.Fault{},
			smtp.Config{Username: smtpUser, Password: smtpPass, TLS: smtp.NoTLS}, false, ping.Failed, ping.Credentials, "does not offer the configured AUTH mechanism: PLAIN (it offers LOGIN)"},
		{"implicit TLS to a plain relay", smtpfake.Options{}, smtpfake.Fault{}, smtp.Config{TLS: smtp.ImplicitTLS}, false,
			ping.Failed, ping.TLS, "implicit TLS: TLS handshake failed (the server does not speak TLS)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := smtpfake.New(tt.fake)
			t.Cleanup(fake.Close)
			fake.SetFault(tt.fault)
			cfg := tt.cfg
			cfg.Host, cfg.Port = fake.Host(), fake.Port()
			if tt.trustFake {
				cfg.TLSConfig = &tls.Config{RootCAs: fake.CertPool()}
			}
			check(t, ping.SMTP(context.Background(), cfg), tt.status, tt.problem, tt.want)
			if n := len(fake.Messages()); n != 0 {
				t.Errorf("the relay got %d messages; the ping must not send", n)
			}
		})
	}
}

// A password goes unencrypted only to localhost: any other name (here an
// IPv4-mapped address of the fake) is refused, with TLS none by the
// provider's Validate, with opportunistic STARTTLS the relay does not offer
// at AUTH; the ping words both alike.
func TestSMTPUnencryptedAuth(t *testing.T) {
	t.Parallel()
	fake := smtpfake.New(smtpfake.Options{Username: smtpUser, Password: smtpPass})
	t.Cleanup(fake.Close)
	for _, policy := range []smtp.TLSPolicy{smtp.NoTLS, smtp.StartTLSOpportunistic} {
		r := ping.SMTP(context.Background(), smtp.Config{Host: "::ffff:127.0.0.1", Port: fake.Port(), TLS: policy, Username: smtpUser, Password: smtpPass})
		check(t, r, ping.Failed, ping.TLS, "AUTH refused by cogmail: the password would go unencrypted to ::ffff:127.0.0.1")
	}
}

func TestSMTPUnreachable(t *testing.T) {
	t.Parallel()
	addr := strings.TrimPrefix(closedURL(t), "http://")
	host, port, _ := net.SplitHostPort(addr)
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	r := ping.SMTP(context.Background(), smtp.Config{Host: host, Port: p, TLS: smtp.NoTLS})
	check(t, r, ping.Failed, ping.Unreachable, "cannot connect to "+addr+": connection refused")
}

func TestSES(t *testing.T) {
	t.Parallel()
	verified := []string{"example.com"}
	tests := []struct {
		name      string
		fake      sesfake.Options
		fault     sesfake.Fault
		sender    string
		configSet string
		status    ping.Status
		problem   ping.Problem
		want      string
	}{
		{"production, domain verified", sesfake.Options{VerifiedIdentities: verified}, sesfake.Fault{},
			"no-reply@example.com", "", ping.OK, "", "sending enabled in eu-west-1 with production access (quota 50000 per 24 h, 14 per second; 0 sent in the last 24 h); sender identity example.com verified"},
		{"address verified", sesfake.Options{VerifiedIdentities: []string{"no-reply@example.com"}}, sesfake.Fault{},
			"no-reply@example.com", "", ping.OK, "", "sender identity no-reply@example.com verified"},
		{"sandbox", sesfake.Options{VerifiedIdentities: verified, Sandbox: true}, sesfake.Fault{},
			"no-reply@example.com", "", ping.Warning, ping.Account, "SES sandbox"},
		{"probation", sesfake.Options{VerifiedIdentities: verified, EnforcementStatus: "PROBATION"}, sesfake.Fault{},
			"no-reply@example.com", "", ping.Warning, ping.Account, "probation"},
		{"sending disabled", sesfake.Options{SendingDisabled: true, EnforcementStatus: "SHUTDOWN"}, sesfake.Fault{}, "", "",
			ping.Failed, ping.Account, "sending is disabled for this account in eu-west-1 (enforcement status SHUTDOWN)"},
		{"sender not an identity", sesfake.Options{VerifiedIdentities: []string{"other.example"}}, sesfake.Fault{}, "no-reply@example.com", "",
			ping.Failed, ping.Sender, "not a verified identity in SES eu-west-1: verify the address or the domain example.com"},
		{"domain pending", sesfake.Options{VerifiedIdentities: []string{"other.example"}, PendingIdentities: verified}, sesfake.Fault{}, "no-reply@example.com", "",
			ping.Failed, ping.Sender, "example.com (pending)"},
		{"configuration set exists", sesfake.Options{ConfigurationSets: []string{"cogmail"}}, sesfake.Fault{}, "", "cogmail", ping.OK, "", "configuration set cogmail exists"},
		{"configuration set missing", sesfake.Options{ConfigurationSets: []string{"other"}}, sesfake.Fault{}, "", "cogmail",
			ping.Failed, ping.Config, "configuration set cogmail does not exist"},
		{"credentials rejected", sesfake.Options{Credentials: &aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: "secret"}}, sesfake.Fault{}, "", "",
			ping.Failed, ping.Credentials, "the AWS credentials are rejected (UnrecognizedClientException"},
		{"access denied", sesfake.Options{}, sesfake.Fault{Code: "AccessDeniedException"}, "", "",
			ping.Failed, ping.Permission, "not allowed to call ses:GetAccount"},
		{"throttled", sesfake.Options{}, sesfake.Fault{Code: "TooManyRequestsException"}, "", "", ping.Failed, ping.Throttled, "throttling"},
		{"failing", sesfake.Options{}, sesfake.Fault{Code: "InternalFailure"}, "", "", ping.Failed, ping.Unavailable, "SES is failing (500"},
		{"not SES", sesfake.Options{}, sesfake.Fault{Garbage: true}, "", "", ping.Failed, ping.Unexpected, "is not SES's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := sesfake.New(tt.fake)
			t.Cleanup(fake.Close)
			fake.SetFault(tt.fault)
			cfg := ses.Config{AWS: testAWS(), Endpoint: fake.URL(), ConfigurationSetName: tt.configSet}
			check(t, ping.SES(context.Background(), cfg, tt.sender), tt.status, tt.problem, tt.want)
			if n := len(fake.Messages()); n != 0 {
				t.Errorf("SES got %d messages; the check must not send", n)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		r := ping.SES(context.Background(), ses.Config{AWS: testAWS(), Endpoint: closedURL(t)}, "")
		check(t, r, ping.Failed, ping.Unreachable, "cannot reach SES in eu-west-1: connection refused")
	})
}

func testAWS() aws.Config {
	return awsclient.Config("eu-west-1", credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""))
}
