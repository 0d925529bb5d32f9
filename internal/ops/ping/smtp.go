package ping

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"

	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/cogmail/cogmail/pkg/provider/smtp"
)

// SMTP opens a session with the relay as the smtp provider would (the same
// port defaults, TLS policy, EHLO name and AUTH mechanism), authenticates
// when cfg has a username, and quits without sending anything.
func SMTP(ctx context.Context, cfg smtp.Config) Result {
	const name = "smtp"
	secrets := []string{cfg.Password}
	if err := cfg.Validate(); err != nil {
		return failed(name, Config, scrub(err.Error(), secrets))
	}
	port := cfg.Port
	if port == 0 {
		port = 587
		if cfg.TLS == smtp.ImplicitTLS {
			port = 465
		}
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = smtp.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(port))
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tlsConf = cfg.TLSConfig.Clone()
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = cfg.Host
	}

	// fail describes an error at a stage of the session: by the reply code
	// when the relay answered, otherwise by the error's type.
	fail := func(stage string, err error) Result {
		var (
			reply  *textproto.Error
			proto  textproto.ProtocolError
			netErr net.Error
		)
		switch {
		// The connection's deadline is the context's, and may fire a moment
		// before the context reports it: either way the relay did not answer.
		case ctx.Err() != nil, errors.As(err, &netErr) && netErr.Timeout():
			return failed(name, Unreachable, addr+": no answer within "+timeout.String()+" ("+stage+")")
		case errors.Is(err, gosmtp.ErrUnencrypted):
			return failed(name, TLS, "AUTH refused by cogmail: the password would go unencrypted to "+cfg.Host+" (only localhost may be used without TLS)")
		case errors.As(err, &reply):
			said := strconv.Itoa(reply.Code) + " " + scrub(strings.TrimSpace(reply.Msg), secrets)
			return replyFailure(stage, reply.Code, said)
		case tlsError(err):
			return failed(name, TLS, addr+": the relay's TLS certificate is not trusted ("+err.Error()+")")
		case errors.As(err, &proto):
			return failed(name, Unexpected, addr+" does not speak SMTP ("+stage+": "+err.Error()+")")
		case stage == "STARTTLS" || stage == "TLS handshake":
			return failed(name, TLS, addr+": "+stage+" failed: "+scrub(err.Error(), secrets))
		}
		return failed(name, Unreachable, addr+": "+stage+": "+netReason(err))
	}

	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return failed(name, Unreachable, "cannot connect to "+addr+": "+netReason(err))
	}
	defer raw.Close()
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	conn := raw
	if cfg.TLS == smtp.ImplicitTLS {
		tc := tls.Client(raw, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail("TLS handshake", err)
		}
		conn = tc
	}
	c, err := gosmtp.NewClient(conn, cfg.Host)
	if err != nil {
		return fail("greeting", err)
	}
	defer c.Close()
	helo := cfg.HELO
	if helo == "" {
		// go-mail's default, which the smtp provider keeps.
		if helo, err = os.Hostname(); err != nil || helo == "" {
			helo = "localhost"
		}
	}
	if err := c.Hello(helo); err != nil {
		return fail("EHLO", err)
	}

	var steps []string
	var warn *Result
	switch cfg.TLS {
	case smtp.ImplicitTLS:
		steps = append(steps, "TLS")
	case smtp.NoTLS:
		steps = append(steps, "no TLS (policy none)")
	default:
		offered, _ := c.Extension("STARTTLS")
		switch {
		case offered:
			if err := c.StartTLS(tlsConf); err != nil {
				return fail("STARTTLS", err)
			}
			steps = append(steps, "STARTTLS")
		case cfg.TLS == smtp.StartTLSMandatory:
			return failed(name, TLS, addr+" does not offer STARTTLS, which the TLS policy requires")
		default:
			steps = append(steps, "no STARTTLS offered")
			warn = &Result{Status: Warning, Problem: TLS, Message: addr + " does not offer STARTTLS: mail would go unencrypted"}
		}
	}
	if st, ok := c.TLSConnectionState(); ok {
		steps[len(steps)-1] += " (" + tls.VersionName(st.Version) + ")"
	}

	if cfg.Username != "" {
		if offered, _ := c.Extension("AUTH"); !offered {
			return failed(name, Credentials, addr+" does not offer AUTH, and a username is set")
		}
		auth := gosmtp.PlainAuth("", cfg.Username, cfg.Password, cfg.Host, false)
		if strings.EqualFold(cfg.Auth, "LOGIN") {
			auth = gosmtp.LoginAuth(cfg.Username, cfg.Password, cfg.Host, false)
		}
		if err := c.Auth(auth); err != nil {
			return fail("AUTH", err)
		}
		steps = append(steps, "AUTH accepted")
	} else {
		steps = append(steps, "no AUTH (no username)")
	}
	_ = c.Quit()
	r := ok(name, "connected to "+addr+", "+strings.Join(steps, ", ")+"; quit without sending")
	if warn != nil {
		return worst(name, r, *warn)
	}
	return r
}

// replyFailure describes a refusing SMTP reply by its code and stage.
func replyFailure(stage string, code int, said string) Result {
	const name = "smtp"
	switch {
	case stage == "AUTH" && (code == 530 || code == 538):
		return failed(name, TLS, "the relay wants encryption before AUTH ("+said+")")
	case stage == "AUTH" && code >= 500:
		return failed(name, Credentials, "the relay rejected the username or password ("+said+")")
	case stage == "STARTTLS":
		return failed(name, TLS, "the relay refused STARTTLS ("+said+")")
	case code == 421 || code == 450 || code == 452 || code == 454:
		return failed(name, Throttled, "the relay is busy or limiting us at "+stage+" ("+said+")")
	case code >= 400 && code < 500:
		return failed(name, Unavailable, "the relay refused "+stage+" for now ("+said+")")
	}
	return failed(name, Unavailable, "the relay refused "+stage+" ("+said+")")
}
