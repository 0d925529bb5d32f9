package smtp_test

import (
	"context"
	"crypto/tls"
	"errors"
	netsmtp "net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/providertest"
	"github.com/cogmail/cogmail/pkg/provider/smtp"
	"github.com/cogmail/cogmail/pkg/provider/smtp/smtpfake"
)

const (
	user     = "cogmail"
	password = "smtp-password-0123456789"
)

func TestConformance(t *testing.T) { providertest.Run(t, harness) }

func harness(t *testing.T, f providertest.Fault) providertest.Harness {
	return harnessWith(t, f, smtpfake.Options{})
}

// harnessWith is harness with a fake that also has opts' SMTPUTF8.
func harnessWith(t *testing.T, f providertest.Fault, opts smtpfake.Options) providertest.Harness {
	fake := smtpfake.New(smtpfake.Options{Username: user, Password: password, TLS: smtpfake.StartTLS, SMTPUTF8: opts.SMTPUTF8})
	t.Cleanup(fake.Close)
	cfg := smtp.Config{
		Host: fake.Host(), Port: fake.Port(), Username: user, Password: password,
		TLS: smtp.StartTLSMandatory, TLSConfig: &tls.Config{RootCAs: fake.CertPool()},
	}
	switch f {
	case providertest.ServerError:
		fake.SetFault(smtpfake.Fault{Stage: smtpfake.Data, Code: 451, Enhanced: "4.3.0", Message: "Temporary local problem"})
	case providertest.Unauthorized:
		cfg.Password = "wrong-password-9876543210" // the fake answers 535 by itself
	case providertest.Forbidden:
		fake.SetFault(smtpfake.Fault{Stage: smtpfake.Mail, Code: 550, Enhanced: "5.7.1", Message: "Sender address rejected: not owned by user"})
	case providertest.RateLimited:
		fake.SetFault(smtpfake.Fault{Stage: smtpfake.Mail, Code: 421, Enhanced: "4.7.0", Message: "Too many messages, slow down"})
	case providertest.BadRecipient:
		fake.SetFault(smtpfake.Fault{Stage: smtpfake.Rcpt, Code: 550, Enhanced: "5.1.1", Message: "<ada.lovelace@example.org>: Recipient address rejected: User unknown"})
	case providertest.PayloadRejected:
		fake.SetFault(smtpfake.Fault{Stage: smtpfake.Data, Code: 554, Enhanced: "5.6.0", Message: "Message content rejected"})
	case providertest.ConnectionReset:
		fake.SetFault(smtpfake.Fault{Reset: true})
	case providertest.Timeout:
		fake.SetFault(smtpfake.Fault{Hang: true})
	case providertest.Garbage:
		fake.SetFault(smtpfake.Fault{Garbage: true})
	}
	p, err := smtp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return providertest.Harness{
		Sender: p,
		Inbox: func() []providertest.Delivered {
			var out []providertest.Delivered
			for _, m := range fake.Messages() {
				out = append(out, providertest.Delivered{ID: messageID(m), To: strings.Join(m.To, ","), Subject: m.Subject, Text: m.Text, HTML: m.HTML})
			}
			return out
		},
		Secrets:    []string{password, cfg.Password},
		RetryAfter: false, // SMTP replies carry no retry time
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  smtp.Config
		want []string
	}{
		{"minimal", smtp.Config{Host: "smtp.example.com"}, nil},
		{"ipv6", smtp.Config{Host: "::1", TLS: smtp.NoTLS}, nil},
		{"auth", smtp.Config{Host: "smtp.example.com", Username: "u", Password: "p", Auth: "login"}, nil},
		{"missing host", smtp.Config{}, []string{"Config.Host is required"}},
		{"host with port", smtp.Config{Host: "smtp.example.com:587"}, []string{"Config.Host must be a host name or IP address without a port"}},
		{"bad port", smtp.Config{Host: "h", Port: 70000}, []string{"Config.Port must be between 1 and 65535"}},
		{"password alone", smtp.Config{Host: "h", Password: "p"}, []string{"Config.Password is set without Config.Username"}},
		{"username alone", smtp.Config{Host: "h", Username: "u"}, []string{"Config.Password is required with Config.Username"}},
		{"bad auth", smtp.Config{Host: "h", Auth: "CRAM-MD5"}, []string{"Config.Auth must be PLAIN or LOGIN"}},
		{"bad policy", smtp.Config{Host: "h", TLS: smtp.TLSPolicy(9)}, []string{"Config.TLS is not a known policy"}},
		{"password in clear to localhost", smtp.Config{Host: "localhost", TLS: smtp.NoTLS, Username: "u", Password: "p"}, nil},
		{"password in clear to a relay", smtp.Config{Host: "smtp.example.com", TLS: smtp.NoTLS, Username: "u", Password: "p"},
			[]string{"Config.TLS none would send the password in clear to smtp.example.com"}},
		{"all at once", smtp.Config{Port: -1, Timeout: -1}, []string{"Config.Host", "Config.Port", "Config.Timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := smtp.New(tt.cfg)
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

// plain returns a provider for a fake without TLS or auth.
func plain(t testing.TB, fake *smtpfake.Server, timeout time.Duration) *smtp.Provider {
	t.Helper()
	p, err := smtp.New(smtp.Config{Host: fake.Host(), Port: fake.Port(), TLS: smtp.NoTLS, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReplyClassification(t *testing.T) {
	tests := []struct {
		stage    smtpfake.Stage
		code     int
		enhanced string
		class    provider.Class
	}{
		{smtpfake.Greeting, 554, "5.3.2", provider.Unavailable},
		{smtpfake.Greeting, 421, "4.3.2", provider.RateLimited},
		{smtpfake.Mail, 421, "4.7.0", provider.RateLimited},
		{smtpfake.Mail, 450, "4.2.1", provider.RateLimited},
		{smtpfake.Mail, 451, "4.3.0", provider.Unavailable},
		{smtpfake.Mail, 452, "4.3.1", provider.RateLimited},
		{smtpfake.Mail, 454, "4.7.0", provider.Unavailable},
		{smtpfake.Mail, 530, "5.7.0", provider.Unavailable},
		{smtpfake.Mail, 550, "5.7.1", provider.Unavailable},
		{smtpfake.Mail, 553, "5.1.8", provider.Unavailable},
		{smtpfake.Mail, 552, "5.3.4", provider.Permanent},
		{smtpfake.Rcpt, 550, "5.1.1", provider.Permanent},
		{smtpfake.Rcpt, 551, "5.1.6", provider.Permanent},
		{smtpfake.Rcpt, 553, "5.1.3", provider.Permanent},
		{smtpfake.Rcpt, 501, "5.1.3", provider.Permanent},
		{smtpfake.Rcpt, 503, "5.5.1", provider.Unavailable},
		{smtpfake.Rcpt, 535, "5.7.8", provider.Unavailable},
		{smtpfake.Rcpt, 450, "4.2.1", provider.RateLimited},
		{smtpfake.Rcpt, 452, "4.5.3", provider.RateLimited},
		{smtpfake.Rcpt, 451, "4.4.0", provider.Unavailable},
		{smtpfake.Data, 554, "5.6.0", provider.Permanent},
		{smtpfake.Data, 552, "5.3.4", provider.Permanent},
		{smtpfake.Data, 550, "5.7.1", provider.Permanent},
		{smtpfake.Data, 451, "4.3.0", provider.Unavailable},
		{smtpfake.Data, 421, "4.4.2", provider.RateLimited},
	}
	for _, tt := range tests {
		name := tt.stage.String() + " " + tt.enhanced
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fake := smtpfake.New(smtpfake.Options{})
			defer fake.Close()
			fake.SetFault(smtpfake.Fault{Stage: tt.stage, Code: tt.code, Enhanced: tt.enhanced})
			_, err := plain(t, fake, 0).Send(context.Background(), providertest.Message())
			var e *provider.Error
			if !errors.As(err, &e) {
				t.Fatalf("Send: %v, want *provider.Error", err)
			}
			if e.Class != tt.class || e.Status != tt.code || e.Code != tt.enhanced {
				t.Errorf("got %v status %d code %q, want %v %d %q (%v)", e.Class, e.Status, e.Code, tt.class, tt.code, tt.enhanced, err)
			}
			if len(fake.Messages()) != 0 {
				t.Error("the fake accepted the message")
			}
		})
	}
}

func TestAuthReplies(t *testing.T) {
	tests := []struct {
		name   string
		fault  smtpfake.Fault
		pass   string
		class  provider.Class
		status int
	}{
		{"wrong password", smtpfake.Fault{}, "wrong", provider.Unavailable, 535},
		{"temporary auth failure", smtpfake.Fault{Stage: smtpfake.Auth, Code: 454, Enhanced: "4.7.0"}, password, provider.Unavailable, 454},
		{"auth rate limit", smtpfake.Fault{Stage: smtpfake.Auth, Code: 421, Enhanced: "4.7.0"}, password, provider.RateLimited, 421},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := smtpfake.New(smtpfake.Options{Username: user, Password: password})
			defer fake.Close()
			fake.SetFault(tt.fault)
			p, err := smtp.New(smtp.Config{Host: fake.Host(), Port: fake.Port(), TLS: smtp.NoTLS, Username: user, Password: tt.pass})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Send(context.Background(), providertest.Message())
			var e *provider.Error
			if !errors.As(err, &e) || e.Class != tt.class || e.Status != tt.status {
				t.Fatalf("Send: %v, want %v with status %d", err, tt.class, tt.status)
			}
			if strings.Contains(err.Error(), tt.pass) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

func TestSessionFailures(t *testing.T) {
	tests := []struct {
		name       string
		fakeOpts   smtpfake.Options
		fault      smtpfake.Fault
		cfg        func(c *smtp.Config, fake *smtpfake.Server)
		reasonPart string
	}{
		{"reset", smtpfake.Options{}, smtpfake.Fault{Reset: true}, nil, "connection"},
		{"garbage", smtpfake.Options{}, smtpfake.Fault{Garbage: true}, nil, "greeting failed"},
		{"client timeout", smtpfake.Options{}, smtpfake.Fault{Latency: time.Minute}, func(c *smtp.Config, _ *smtpfake.Server) { c.Timeout = 100 * time.Millisecond }, "timeout"},
		{"STARTTLS required but not offered", smtpfake.Options{}, smtpfake.Fault{}, func(c *smtp.Config, _ *smtpfake.Server) { c.TLS = smtp.StartTLSMandatory }, "STARTTLS"},
		{"untrusted certificate", smtpfake.Options{TLS: smtpfake.StartTLS}, smtpfake.Fault{}, func(c *smtp.Config, _ *smtpfake.Server) { c.TLS = smtp.StartTLSMandatory }, "certificate"},
		{"implicit TLS to a plain server", smtpfake.Options{}, smtpfake.Fault{}, func(c *smtp.Config, _ *smtpfake.Server) { c.TLS = smtp.ImplicitTLS }, "TLS handshake failed"},
		{"auth required, none configured", smtpfake.Options{Username: user, Password: password}, smtpfake.Fault{}, nil, "MAIL FROM refused: 5.7.0 Authentication required"},
		{"connection refused", smtpfake.Options{}, smtpfake.Fault{}, func(c *smtp.Config, fake *smtpfake.Server) { fake.Close() }, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := smtpfake.New(tt.fakeOpts)
			defer fake.Close()
			fake.SetFault(tt.fault)
			cfg := smtp.Config{Host: fake.Host(), Port: fake.Port(), TLS: smtp.NoTLS}
			if tt.cfg != nil {
				tt.cfg(&cfg, fake)
			}
			p, err := smtp.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Send(context.Background(), providertest.Message())
			if provider.ClassOf(err) != provider.Unavailable || !strings.Contains(err.Error(), tt.reasonPart) {
				t.Fatalf("Send: %v, want unavailable mentioning %q", err, tt.reasonPart)
			}
		})
	}
}

func TestTLSAndAuthModes(t *testing.T) {
	tests := []struct {
		name     string
		fakeOpts smtpfake.Options
		cfg      smtp.Config
		tls      bool
		user     string
	}{
		{"plain, no auth", smtpfake.Options{}, smtp.Config{TLS: smtp.NoTLS}, false, ""},
		{"plain, PLAIN auth to localhost", smtpfake.Options{Username: user, Password: password}, smtp.Config{TLS: smtp.NoTLS, Username: user, Password: password}, false, user},
		{"opportunistic without offer", smtpfake.Options{}, smtp.Config{TLS: smtp.StartTLSOpportunistic}, false, ""},
		{"opportunistic with offer", smtpfake.Options{TLS: smtpfake.StartTLS}, smtp.Config{TLS: smtp.StartTLSOpportunistic}, true, ""},
		{"STARTTLS mandatory, PLAIN", smtpfake.Options{TLS: smtpfake.StartTLS, Username: user, Password: password}, smtp.Config{TLS: smtp.StartTLSMandatory, Username: user, Password: password}, true, user},
		{"STARTTLS mandatory, LOGIN", smtpfake.Options{TLS: smtpfake.StartTLS, Username: user, Password: password}, smtp.Config{TLS: smtp.StartTLSMandatory, Username: user, Password: password, Auth: "LOGIN"}, true, user},
		{"implicit TLS, LOGIN", smtpfake.Options{TLS: smtpfake.ImplicitTLS, Username: user, Password: password}, smtp.Config{TLS: smtp.ImplicitTLS, Username: user, Password: password, Auth: "LOGIN"}, true, user},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := smtpfake.New(tt.fakeOpts)
			defer fake.Close()
			cfg := tt.cfg
			cfg.Host, cfg.Port = fake.Host(), fake.Port()
			if pool := fake.CertPool(); pool != nil {
				cfg.TLSConfig = &tls.Config{RootCAs: pool}
			}
			p, err := smtp.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Send(context.Background(), providertest.Message()); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := fake.Messages()
			if len(got) != 1 || got[0].TLS != tt.tls || got[0].Username != tt.user {
				t.Fatalf("fake got %d messages (tls %v user %q), want 1 (tls %v user %q)", len(got), got[0].TLS, got[0].Username, tt.tls, tt.user)
			}
		})
	}
}

func TestMessageContents(t *testing.T) {
	tests := []struct {
		name  string
		m     func(*provider.Message)
		check func(t *testing.T, got smtpfake.Message, r provider.Receipt)
	}{
		{"headers and envelope", nil, func(t *testing.T, got smtpfake.Message, r provider.Receipt) {
			h := func(k string) string {
				if v := got.Header[textproto.CanonicalMIMEHeaderKey(k)]; len(v) > 0 {
					return v[0]
				}
				return ""
			}
			checks := [][2]string{
				{got.From, "no-reply@cogmail.example"},
				{strings.Join(got.To, ","), "ada.lovelace@example.org"},
				{h("From"), `"Cogmail" <no-reply@cogmail.example>`},
				{h("Reply-To"), "<support@cogmail.example>"},
				{h(smtp.MessageIDHeader), "msg-0001"},
				{h(smtp.TagHeaderPrefix + "trigger"), "CustomEmailSender_SignUp"},
				{h("Message-Id"), r.ID},
			}
			for _, c := range checks {
				if c[0] != c[1] {
					t.Errorf("got %q, want %q", c[0], c[1])
				}
			}
			if !strings.HasSuffix(r.ID, "@cogmail.example>") {
				t.Errorf("Message-ID %q", r.ID)
			}
		}},
		{"non-ASCII subject and body", func(m *provider.Message) {
			m.Subject = "Código de verificação ✓"
			m.Text = "Olá,\nseu código é 482916.\n"
		}, func(t *testing.T, got smtpfake.Message, _ provider.Receipt) {
			if got.Subject != "Código de verificação ✓" || got.Text != "Olá,\nseu código é 482916.\n" {
				t.Errorf("subject %q text %q", got.Subject, got.Text)
			}
		}},
		{"text only", func(m *provider.Message) { m.HTML = "" }, func(t *testing.T, got smtpfake.Message, _ provider.Receipt) {
			if got.Text == "" || got.HTML != "" {
				t.Errorf("text %q html %q", got.Text, got.HTML)
			}
		}},
		{"html only", func(m *provider.Message) { m.Text = "" }, func(t *testing.T, got smtpfake.Message, _ provider.Receipt) {
			if got.Text != "" || got.HTML == "" {
				t.Errorf("text %q html %q", got.Text, got.HTML)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := smtpfake.New(smtpfake.Options{})
			defer fake.Close()
			m := providertest.Message()
			if tt.m != nil {
				tt.m(&m)
			}
			r, err := plain(t, fake, 0).Send(context.Background(), m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := fake.Messages()
			if len(got) != 1 {
				t.Fatalf("fake has %d messages", len(got))
			}
			tt.check(t, got[0], r)
		})
	}
}

func BenchmarkSend(b *testing.B) {
	fake := smtpfake.New(smtpfake.Options{})
	defer fake.Close()
	p := plain(b, fake, 0)
	m := providertest.Message()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

// messageID is the Message-ID header the fake received.
func messageID(m smtpfake.Message) string {
	if v := m.Header["Message-Id"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// TestAddresses: a non-ASCII local part goes to a relay that offers
// SMTPUTF8 (go-mail then asks for it in MAIL FROM), and to no other: Send
// refuses it before MAIL, as the relay would at RCPT.
func TestAddresses(t *testing.T) {
	t.Run("relay without SMTPUTF8", func(t *testing.T) { providertest.CheckAddresses(t, harness, false) })
	t.Run("relay with SMTPUTF8", func(t *testing.T) {
		providertest.CheckAddresses(t, func(t *testing.T, f providertest.Fault) providertest.Harness {
			return harnessWith(t, f, smtpfake.Options{SMTPUTF8: true})
		}, true)
	})
}

// TestFakeRefusesNonASCIIWithoutSMTPUTF8: the fake answers as RFC 6531
// says a relay does (553 5.6.7), to a client that does not check first.
func TestFakeRefusesNonASCIIWithoutSMTPUTF8(t *testing.T) {
	for _, utf8 := range []bool{false, true} {
		fake := smtpfake.New(smtpfake.Options{SMTPUTF8: utf8})
		t.Cleanup(fake.Close)
		c, err := netsmtp.Dial(fake.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Mail("no-reply@cogmail.example"); err != nil {
			t.Fatal(err)
		}
		err = c.Rcpt("jürgen@xn--bcher-kva.example")
		var tp *textproto.Error
		switch {
		case utf8 && err != nil:
			t.Errorf("SMTPUTF8 offered: RCPT = %v, want 250", err)
		case !utf8 && (!errors.As(err, &tp) || tp.Code != 553 || !strings.HasPrefix(tp.Msg, "5.6.7")):
			t.Errorf("no SMTPUTF8: RCPT = %v, want 553 5.6.7", err)
		}
		_ = c.Close()
	}
}
