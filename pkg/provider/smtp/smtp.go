// Package smtp sends email through any SMTP relay (github.com/wneessen/go-mail)
// and classifies the relay's replies by their reply code and the stage of the
// session, for failover.
package smtp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"maps"
	"net"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
	gomailsmtp "github.com/wneessen/go-mail/smtp"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/internal/classify"
	"github.com/cogmail/cogmail/pkg/provider/internal/redact"
)

// TLSPolicy says how the connection is encrypted.
type TLSPolicy int

const (
	// StartTLSMandatory upgrades with STARTTLS and fails if the relay does
	// not offer it (the default; port 587).
	StartTLSMandatory TLSPolicy = iota
	// StartTLSOpportunistic upgrades with STARTTLS when offered.
	StartTLSOpportunistic
	// ImplicitTLS speaks TLS from the first byte (SMTPS, port 465).
	ImplicitTLS
	// NoTLS never encrypts: for a relay on the same host or in tests only
	// (go-mail refuses AUTH PLAIN/LOGIN in clear text except to localhost).
	NoTLS
)

// DefaultTimeout bounds dialing, and then the whole session (greeting to
// QUIT): go-mail sets the connection deadline once the greeting is read.
const DefaultTimeout = 10 * time.Second

// Headers added to every message.
const (
	MessageIDHeader = "X-Cogmail-Message-Id" // Message.ID
	TagHeaderPrefix = "X-Cogmail-Tag-"       // one header per Message.Tags entry
)

// Config configures a Provider. Zero values mean the documented defaults.
type Config struct {
	Name      string // Name() of the provider; default "smtp"
	Host      string // relay host name or IP, required (no port)
	Port      int    // default 587, or 465 with ImplicitTLS
	Username  string // AUTH when set
	Password  string
	Auth      string        // "PLAIN" (default) or "LOGIN"
	TLS       TLSPolicy     // default StartTLSMandatory
	TLSConfig *tls.Config   // optional: RootCAs, ServerName (default Host)
	HELO      string        // EHLO name; default the machine's host name
	Timeout   time.Duration // default DefaultTimeout; the context's deadline also applies
}

// Validate reports every configuration problem at once, naming the field.
func (c Config) Validate() error {
	var errs []error
	switch {
	case strings.TrimSpace(c.Host) == "":
		errs = append(errs, errors.New("smtp: Config.Host is required"))
	case strings.ContainsAny(c.Host, "/@ ") || (strings.Contains(c.Host, ":") && net.ParseIP(c.Host) == nil):
		errs = append(errs, errors.New("smtp: Config.Host must be a host name or IP address without a port"))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, errors.New("smtp: Config.Port must be between 1 and 65535"))
	}
	if c.Password != "" && c.Username == "" {
		errs = append(errs, errors.New("smtp: Config.Password is set without Config.Username"))
	}
	if c.Username != "" && c.Password == "" {
		errs = append(errs, errors.New("smtp: Config.Password is required with Config.Username"))
	}
	switch strings.ToUpper(c.Auth) {
	case "", "PLAIN", "LOGIN":
	default:
		errs = append(errs, errors.New("smtp: Config.Auth must be PLAIN or LOGIN"))
	}
	if c.TLS < StartTLSMandatory || c.TLS > NoTLS {
		errs = append(errs, errors.New("smtp: Config.TLS is not a known policy"))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("smtp: Config.Timeout is negative"))
	}
	return errors.Join(errs...)
}

// Provider sends through an SMTP relay, one connection per message. It is
// safe for concurrent use.
type Provider struct {
	name     string
	password string
	host     string
	implicit bool
	tlsConf  *tls.Config
	timeout  time.Duration
	options  []mail.Option
}

// New validates cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Provider{name: cfg.Name, password: cfg.Password, host: cfg.Host, implicit: cfg.TLS == ImplicitTLS, timeout: cfg.Timeout}
	if p.name == "" {
		p.name = "smtp"
	}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	port := cfg.Port
	if port == 0 {
		port = 587
		if p.implicit {
			port = 465
		}
	}
	p.tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		p.tlsConf = cfg.TLSConfig.Clone()
	}
	if p.tlsConf.ServerName == "" {
		p.tlsConf.ServerName = cfg.Host
	}
	policy := map[TLSPolicy]mail.TLSPolicy{
		StartTLSMandatory:     mail.TLSMandatory,
		StartTLSOpportunistic: mail.TLSOpportunistic,
		ImplicitTLS:           mail.NoTLS, // the dialer does TLS; no STARTTLS on top
		NoTLS:                 mail.NoTLS,
	}[cfg.TLS]
	p.options = []mail.Option{
		mail.WithPort(port),
		mail.WithTimeout(p.timeout),
		mail.WithTLSPolicy(policy),
		mail.WithTLSConfig(p.tlsConf),
	}
	if cfg.HELO != "" {
		p.options = append(p.options, mail.WithHELO(cfg.HELO))
	}
	if cfg.Username != "" {
		auth := mail.SMTPAuthPlain
		if strings.EqualFold(cfg.Auth, "LOGIN") {
			auth = mail.SMTPAuthLogin
		}
		p.options = append(p.options, mail.WithSMTPAuth(auth), mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	return p, nil
}

// Name identifies the provider in errors, logs and metrics.
func (p *Provider) Name() string { return p.name }

// Send sends m over a new connection and returns its Message-ID header.
// A failure is a *provider.Error classified by the reply code and the stage
// (see replyClass); no answer at all is Unavailable.
func (p *Provider) Send(ctx context.Context, m provider.Message) (provider.Receipt, error) {
	if err := m.Validate(); err != nil {
		return provider.Receipt{}, classify.Invalid(p.name, err)
	}
	msg, err := p.message(m)
	if err != nil {
		return provider.Receipt{}, classify.Invalid(p.name, err)
	}
	if ctx.Err() != nil {
		return provider.Receipt{}, classify.Transport(ctx, p.name, ctx.Err())
	}

	session, stop, err := p.open(ctx)
	if err != nil {
		return provider.Receipt{}, err
	}
	defer stop()
	// The transaction is driven here rather than by go-mail's Send, so every
	// reply arrives as a *textproto.Error with its code, and the stage is
	// known from the code path, not read from an error string.
	if st, err := transfer(session, msg, m.From.Email, m.To); err != nil {
		_ = session.Close()
		return provider.Receipt{}, p.failure(ctx, st, err)
	}
	// The relay has the message: a failing QUIT changes nothing.
	_ = session.Quit()
	_ = session.Close()
	return provider.Receipt{Provider: p.name, ID: msg.GetMessageID()}, nil
}

// Ping opens a session exactly as Send does (the same port, TLS policy,
// certificates, EHLO name and AUTH mechanism): greeting, EHLO, STARTTLS when
// the policy asks for it, AUTH when a username is set; then it quits without
// sending. A failure is a *provider.Error classified as Send classifies a
// failure while opening its session: a refused password (535) or no answer
// at all is Unavailable, 421/450/452 RateLimited.
func (p *Provider) Ping(ctx context.Context) error {
	if ctx.Err() != nil {
		return classify.Transport(ctx, p.name, ctx.Err())
	}
	session, stop, err := p.open(ctx)
	if err != nil {
		return err
	}
	defer stop()
	_ = session.Quit()
	_ = session.Close()
	return nil
}

// open dials the relay and runs the session up to AUTH. stop releases what
// open set up; call it once the session is done.
func (p *Provider) open(ctx context.Context) (*gomailsmtp.Client, func(), error) {
	// go-mail watches the context only while dialing; closing the
	// connection when ctx ends makes the whole session honour it.
	var stop func() bool
	release := func() {
		if stop != nil {
			stop()
		}
	}
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		raw, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		stop = context.AfterFunc(ctx, func() { _ = raw.Close() })
		if !p.implicit {
			return raw, nil
		}
		tc := tls.Client(raw, p.tlsConf)
		if err := tc.HandshakeContext(dctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		return tc, nil
	}
	// Concat, not append: p.options is shared by concurrent sends.
	c, err := mail.NewClient(p.host, slices.Concat(p.options, []mail.Option{mail.WithDialContextFunc(dial)})...)
	if err != nil {
		return nil, release, &provider.Error{Provider: p.name, Class: provider.Unavailable, Reason: "client: " + redact.Reason(err.Error(), p.password), Err: err}
	}
	session, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		release()
		return nil, func() {}, p.failure(ctx, stageSession, err)
	}
	return session, release, nil
}

// transfer runs MAIL, RCPT and DATA, and says at which stage it failed.
func transfer(s *gomailsmtp.Client, msg *mail.Msg, from, to string) (stage, error) {
	if err := s.Mail(from); err != nil {
		return stageMail, err
	}
	if err := s.Rcpt(to); err != nil {
		return stageRcpt, err
	}
	w, err := s.Data()
	if err != nil {
		return stageData, err
	}
	if _, err := msg.WriteTo(w); err != nil {
		return stageData, err
	}
	return stageData, w.Close()
}

func (p *Provider) message(m provider.Message) (*mail.Msg, error) {
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(m.From.Name, m.From.Email); err != nil {
		return nil, errors.New("From is not a valid address")
	}
	if err := msg.To(m.To); err != nil {
		return nil, errors.New("To is not a valid address")
	}
	if !m.ReplyTo.IsZero() {
		if err := msg.ReplyToFormat(m.ReplyTo.Name, m.ReplyTo.Email); err != nil {
			return nil, errors.New("ReplyTo is not a valid address")
		}
	}
	msg.Subject(m.Subject)
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	case m.Text != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
	default:
		msg.SetBodyString(mail.TypeTextHTML, m.HTML)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		msg.SetGenHeader(mail.Header(k), m.Headers[k])
	}
	for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
		msg.SetGenHeader(mail.Header(TagHeaderPrefix+headerToken(k)), m.Tags[k])
	}
	if m.ID != "" {
		msg.SetGenHeader(MessageIDHeader, m.ID)
	}
	_, domain, _ := strings.Cut(m.From.Email, "@")
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	msg.SetMessageIDWithValue(hex.EncodeToString(id) + "@" + domain)
	msg.SetDate()
	return msg, nil
}

// headerToken keeps letters, digits and dashes, so a tag key makes a valid
// header name.
func headerToken(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}

// stage is where in the session a reply came.
type stage int

const (
	stageSession stage = iota // greeting, EHLO, STARTTLS, AUTH
	stageMail                 // MAIL FROM
	stageRcpt                 // RCPT TO
	stageData                 // DATA and the message content
)

var stageNames = map[stage]string{
	stageSession: "session",
	stageMail:    "MAIL FROM",
	stageRcpt:    "RCPT TO",
	stageData:    "DATA",
}

// replyClass classifies an SMTP reply code at a stage of the session:
//
//	421, 450, 452 (closing, busy, insufficient storage: slow down)  RateLimited
//	other 4xx                                                       Unavailable
//	any 5xx while opening the session (greeting, EHLO, STARTTLS,
//	  AUTH: 535 bad credentials, 530 ...)                           Unavailable (our configuration or their outage)
//	5xx at MAIL FROM, except 552 (the sender is refused:
//	  misconfiguration, another provider may take it)                Unavailable
//	530, 534, 535, 538 (authentication) at any stage                Unavailable
//	500, 502, 503, 504 (command errors: a protocol problem)         Unavailable
//	other 5xx at RCPT TO or DATA (550 mailbox unavailable,
//	  553 bad address, 554 rejected) and 552 at MAIL FROM           Permanent
//	anything else                                                   Unavailable
func replyClass(st stage, code int) provider.Class {
	switch {
	case code == 421 || code == 450 || code == 452:
		return provider.RateLimited
	case code >= 400 && code < 500:
		return provider.Unavailable
	case code < 500 || code >= 600:
		return provider.Unavailable
	}
	switch code {
	case 530, 534, 535, 538, 500, 502, 503, 504:
		return provider.Unavailable
	}
	switch st {
	case stageRcpt, stageData:
		return provider.Permanent
	case stageMail:
		if code == 552 {
			return provider.Permanent
		}
	}
	return provider.Unavailable
}

var enhancedCode = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}$`)

// failure classifies a failure at stage st.
func (p *Provider) failure(ctx context.Context, st stage, err error) *provider.Error {
	if ctx.Err() != nil {
		return classify.Transport(ctx, p.name, err)
	}
	var reply *textproto.Error
	if errors.As(err, &reply) {
		e := &provider.Error{
			Provider: p.name,
			Class:    replyClass(st, reply.Code),
			Status:   reply.Code,
			Reason:   stageNames[st] + " refused: " + redact.Reason(reply.Msg, p.password),
			Err:      err,
		}
		// RFC 2034: an enhanced status code, when present, starts the text.
		if first, _, _ := strings.Cut(reply.Msg, " "); enhancedCode.MatchString(first) {
			e.Code = first
		}
		return e
	}
	if r := classify.NetReason(err); r != "" {
		return &provider.Error{Provider: p.name, Class: provider.Unavailable, Reason: stageNames[st] + ": " + r, Err: err}
	}
	// Neither a reply nor the network: STARTTLS missing, no usable AUTH
	// mechanism, an answer that is not SMTP.
	return &provider.Error{Provider: p.name, Class: provider.Unavailable, Reason: stageNames[st] + " failed: " + redact.Reason(err.Error(), p.password), Err: err}
}
