// Package smtp sends email through any SMTP relay (github.com/wneessen/go-mail
// builds the message; its low-level client runs the session step by step)
// and classifies the relay's replies by their reply code and the stage of the
// session, for failover. Probe opens the same session without sending and
// reports each step, for configuration checks.
package smtp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/textproto"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
	gomailsmtp "github.com/wneessen/go-mail/smtp"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/internal/classify"
	"github.com/cogmail/cogmail/pkg/provider/internal/redact"
	"github.com/cogmail/cogmail/pkg/recipient"
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
// QUIT): the connection's deadline is set again once the greeting is read.
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
	if err := CheckClearPassword(c.Host, c.TLS, c.Username); err != nil {
		errs = append(errs, fmt.Errorf("smtp: Config.TLS %w", err))
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("smtp: Config.Timeout is negative"))
	}
	return errors.Join(errs...)
}

// ErrClearPassword is the refusal of TLS none with a username to a relay
// that is not localhost: go-mail would refuse AUTH at every send, so the
// function would start and then fail every message. Validate (so New, at
// cold start) and `cogmail config check` both report it.
var ErrClearPassword = errors.New("none would send the password in clear")

// CheckClearPassword returns an error wrapping ErrClearPassword when policy
// is NoTLS, a username is set and host is not localhost by go-mail's own
// test (the names localhost, 127.0.0.1 and ::1, not what a name resolves to).
func CheckClearPassword(host string, policy TLSPolicy, username string) error {
	if policy != NoTLS || username == "" || slices.Contains([]string{"localhost", "127.0.0.1", "::1"}, host) {
		return nil
	}
	return fmt.Errorf("%w to %s, which cogmail refuses for anything but localhost: use starttls or tls", ErrClearPassword, host)
}

// Provider sends through an SMTP relay, one connection per message. It is
// safe for concurrent use.
type Provider struct {
	name     string
	host     string
	addr     string // host:port
	policy   TLSPolicy
	tlsConf  *tls.Config
	timeout  time.Duration
	helo     string
	username string
	password string
	auth     string // "PLAIN" or "LOGIN"
}

// New validates cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Provider{
		name: cfg.Name, host: cfg.Host, policy: cfg.TLS, timeout: cfg.Timeout, helo: cfg.HELO,
		username: cfg.Username, password: cfg.Password, auth: "PLAIN",
	}
	if p.name == "" {
		p.name = "smtp"
	}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	port := cfg.Port
	if port == 0 {
		port = 587
		if p.policy == ImplicitTLS {
			port = 465
		}
	}
	p.addr = net.JoinHostPort(cfg.Host, strconv.Itoa(port))
	p.tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		p.tlsConf = cfg.TLSConfig.Clone()
	}
	if p.tlsConf.ServerName == "" {
		p.tlsConf.ServerName = cfg.Host
	}
	if p.helo == "" {
		// go-mail's default: the machine's host name.
		if h, err := os.Hostname(); err == nil && h != "" {
			p.helo = h
		} else {
			p.helo = "localhost"
		}
	}
	if strings.EqualFold(cfg.Auth, "LOGIN") {
		p.auth = "LOGIN"
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

	session, seen, stop, err := p.open(ctx)
	if err != nil {
		return provider.Receipt{}, err
	}
	defer stop()
	if !seen.SMTPUTF8 && (!recipient.ASCIILocalPart(m.To) || !recipient.ASCIILocalPart(m.From.Email)) {
		// Without SMTPUTF8 the relay would refuse the address, or mangle it.
		_ = session.Quit()
		_ = session.Close()
		return provider.Receipt{}, classify.Invalid(p.name, &StageError{Stage: StageMail, Err: ErrNoSMTPUTF8})
	}
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

// Session is what Probe saw of a session with the relay.
type Session struct {
	Addr    string        // the relay's host:port
	Timeout time.Duration // the session's time limit (Config.Timeout or DefaultTimeout)
	TLS     TLSPolicy     // the policy it ran under
	// STARTTLS says whether the relay offered STARTTLS in its EHLO reply
	// (whether or not the policy used it).
	STARTTLS bool
	// TLSVersion is the negotiated version (tls.VersionTLS13, ...) after the
	// implicit TLS handshake or STARTTLS; 0 when the session is not encrypted.
	TLSVersion uint16
	// Auth is the AUTH mechanism the relay accepted ("PLAIN" or "LOGIN");
	// "" when no username is set.
	Auth string
	// SMTPUTF8 says whether the relay offered SMTPUTF8 (RFC 6531) in its
	// last EHLO reply: only then may an address with a non-ASCII local part
	// be sent to it.
	SMTPUTF8 bool
}

// Probe opens a session exactly as Send does (the same port, TLS policy,
// certificates, EHLO name and AUTH mechanism): greeting, EHLO, STARTTLS when
// the policy asks for it and the relay offers it, AUTH when a username is
// set; then it quits without sending and reports what it saw. A failure is
// a *provider.Error classified as Send classifies a failure while opening
// its session (a refused password (535) or no answer at all is
// Unavailable; 421/450/452 RateLimited), whose Err is a *StageError naming
// the step that failed. On failure the Session still holds Addr, Timeout
// and TLS, and whatever was learned before the failing step.
func (p *Provider) Probe(ctx context.Context) (Session, error) {
	s := Session{Addr: p.addr, Timeout: p.timeout, TLS: p.policy}
	if ctx.Err() != nil {
		return s, classify.Transport(ctx, p.name, &StageError{Stage: StageConnect, Err: ctx.Err()})
	}
	c, s, stop, err := p.open(ctx)
	if err != nil {
		return s, err
	}
	defer stop()
	_ = c.Quit()
	_ = c.Close()
	return s, nil
}

// UTF8Recipients reports whether the relay takes an address with a
// non-ASCII local part: whether it offers SMTPUTF8 (RFC 6531) in its EHLO
// reply, which a Probe session reads. Dispatch asks before it hands this
// provider such an address (dispatch.UTF8Recipients); an error means the
// relay could not be asked now.
func (p *Provider) UTF8Recipients(ctx context.Context) (bool, error) {
	s, err := p.Probe(ctx)
	if err != nil {
		return false, err
	}
	return s.SMTPUTF8, nil
}

// Ping is Probe without the report: it checks that the relay would take a
// session from this configuration, and sends nothing.
func (p *Provider) Ping(ctx context.Context) error {
	_, err := p.Probe(ctx)
	return err
}

// Stage is a step of an SMTP session, named as the protocol names it.
type Stage string

// The stages, in session order.
const (
	StageConnect   Stage = "connect"      // the TCP connection
	StageHandshake Stage = "implicit TLS" // the TLS handshake of ImplicitTLS
	StageGreeting  Stage = "greeting"     // the relay's 220
	StageEHLO      Stage = "EHLO"
	StageSTARTTLS  Stage = "STARTTLS" // the command and the TLS handshake it starts
	StageAUTH      Stage = "AUTH"
	StageMail      Stage = "MAIL FROM"
	StageRcpt      Stage = "RCPT TO"
	StageData      Stage = "DATA" // the command and the message content
)

// StageError says at which step of the session a failure came. It is the
// Err of every *provider.Error that Send, Probe and Ping return once they
// have started dialing the relay, so errors.As finds the
// *provider.Error (the class, for dispatch) and then the *StageError (the
// step, for a report). Err is the relay's reply (a *textproto.Error with
// its code), a network or TLS error, or one of ErrNoSTARTTLS, ErrNoAUTH,
// ErrAuthMechanism and ErrUnencrypted. Its text may quote the relay: print
// the *provider.Error, whose Reason is redacted, rather than this.
type StageError struct {
	Stage Stage
	Err   error
}

func (e *StageError) Error() string { return "smtp " + string(e.Stage) + ": " + e.Err.Error() }

func (e *StageError) Unwrap() error { return e.Err }

// Failures of opening a session that are not a reply from the relay.
var (
	// ErrNoSTARTTLS: the relay does not offer STARTTLS and the policy is
	// StartTLSMandatory.
	ErrNoSTARTTLS = errors.New("the relay does not offer STARTTLS, which the TLS policy requires")
	// ErrNoAUTH: a username is set and the relay does not offer AUTH.
	ErrNoAUTH = errors.New("the relay does not offer AUTH, and a username is set")
	// ErrAuthMechanism: the relay offers AUTH, but not Config.Auth's mechanism.
	ErrAuthMechanism = errors.New("the relay does not offer the configured AUTH mechanism")
	// ErrNoSMTPUTF8: an address has a non-ASCII local part and the relay
	// does not offer SMTPUTF8 (RFC 6531).
	ErrNoSMTPUTF8 = errors.New("an address has a non-ASCII local part and the relay does not offer SMTPUTF8")
	// ErrUnencrypted: the session is not encrypted and the relay is not
	// localhost, so go-mail refuses to send the password.
	ErrUnencrypted = errors.New("AUTH refused by the client: the password would go unencrypted (only localhost may be used without TLS)")
)

// open dials the relay and runs the session up to AUTH, step by step, so
// each failure's stage is known from the code path. stop releases what
// open set up; call it once the session is done.
func (p *Provider) open(ctx context.Context) (_ *gomailsmtp.Client, s Session, stop func(), _ error) {
	s = Session{Addr: p.addr, Timeout: p.timeout, TLS: p.policy}
	dctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(dctx, "tcp", p.addr)
	if err != nil {
		return nil, s, nil, p.failure(ctx, StageConnect, err)
	}
	// Closing the connection when ctx ends makes the whole session honour it.
	release := context.AfterFunc(ctx, func() { _ = raw.Close() })
	stop = func() { release() }
	fail := func(st Stage, err error) (*gomailsmtp.Client, Session, func(), error) {
		release()
		_ = raw.Close()
		return nil, s, nil, p.failure(ctx, st, err)
	}
	// The time limit covers dialing, then (set again once the greeting is
	// read, as go-mail does) the session from the greeting to QUIT.
	_ = raw.SetDeadline(time.Now().Add(p.timeout))
	var conn net.Conn = raw
	if p.policy == ImplicitTLS {
		tc := tls.Client(raw, p.tlsConf)
		if err := tc.HandshakeContext(dctx); err != nil {
			return fail(StageHandshake, err)
		}
		conn = tc
	}
	c, err := gomailsmtp.NewClient(conn, p.host)
	if err != nil {
		return fail(StageGreeting, err)
	}
	_ = c.UpdateDeadline(p.timeout)
	if err := c.Hello(p.helo); err != nil {
		return fail(StageEHLO, err)
	}
	s.STARTTLS, _ = c.Extension("STARTTLS")
	switch {
	case p.policy == ImplicitTLS || p.policy == NoTLS:
	case s.STARTTLS:
		if err := c.StartTLS(p.tlsConf); err != nil {
			return fail(StageSTARTTLS, err)
		}
	case p.policy == StartTLSMandatory:
		return fail(StageSTARTTLS, ErrNoSTARTTLS)
	}
	if st, ok := c.TLSConnectionState(); ok {
		s.TLSVersion = st.Version
	}
	if p.username != "" {
		offered, mechs := c.Extension("AUTH")
		if !offered {
			return fail(StageAUTH, ErrNoAUTH)
		}
		if !slices.Contains(strings.Fields(strings.ToUpper(mechs)), p.auth) {
			return fail(StageAUTH, fmt.Errorf("%w: %s (it offers %s)", ErrAuthMechanism, p.auth, mechs))
		}
		auth := gomailsmtp.PlainAuth("", p.username, p.password, p.host, false)
		if p.auth == "LOGIN" {
			auth = gomailsmtp.LoginAuth(p.username, p.password, p.host, false)
		}
		if err := c.Auth(auth); err != nil {
			if errors.Is(err, gomailsmtp.ErrUnencrypted) {
				err = ErrUnencrypted
			}
			return fail(StageAUTH, err)
		}
		s.Auth = p.auth
	}
	// After STARTTLS and AUTH: the extensions of the last EHLO are the ones that count.
	s.SMTPUTF8, _ = c.Extension("SMTPUTF8")
	return c, s, stop, nil
}

// transfer runs MAIL, RCPT and DATA, and says at which stage it failed.
func transfer(s *gomailsmtp.Client, msg *mail.Msg, from, to string) (Stage, error) {
	if err := s.Mail(from); err != nil {
		return StageMail, err
	}
	if err := s.Rcpt(to); err != nil {
		return StageRcpt, err
	}
	w, err := s.Data()
	if err != nil {
		return StageData, err
	}
	if _, err := msg.WriteTo(w); err != nil {
		return StageData, err
	}
	return StageData, w.Close()
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
func replyClass(st Stage, code int) provider.Class {
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
	case StageRcpt, StageData:
		return provider.Permanent
	case StageMail:
		if code == 552 {
			return provider.Permanent
		}
	}
	return provider.Unavailable
}

var enhancedCode = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}$`)

// failure classifies a failure at stage st. The *provider.Error's Err is a
// *StageError; its Reason starts with the stage.
func (p *Provider) failure(ctx context.Context, st Stage, err error) *provider.Error {
	cause := err
	err = &StageError{Stage: st, Err: cause}
	if ctx.Err() != nil {
		return classify.Transport(ctx, p.name, err)
	}
	var reply *textproto.Error
	if errors.As(cause, &reply) {
		e := &provider.Error{
			Provider: p.name,
			Class:    replyClass(st, reply.Code),
			Status:   reply.Code,
			Reason:   string(st) + " refused: " + redact.Reason(reply.Msg, p.password),
			Err:      err,
		}
		// RFC 2034: an enhanced status code, when present, starts the text.
		if first, _, _ := strings.Cut(reply.Msg, " "); enhancedCode.MatchString(first) {
			e.Code = first
		}
		return e
	}
	if r := provider.NetReason(cause); r != "" {
		return &provider.Error{Provider: p.name, Class: provider.Unavailable, Reason: string(st) + ": " + r, Err: err}
	}
	// Neither a reply nor the network: STARTTLS or AUTH missing, an answer
	// that is not SMTP.
	return &provider.Error{Provider: p.name, Class: provider.Unavailable, Reason: string(st) + " failed: " + redact.Reason(cause.Error(), p.password), Err: err}
}
