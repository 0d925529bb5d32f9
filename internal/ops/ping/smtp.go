package ping

import (
	"context"
	"crypto/tls"
	"errors"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/cogmail/cogmail/pkg/provider"
	"github.com/cogmail/cogmail/pkg/provider/smtp"
)

// SMTP opens a session with the relay through the smtp provider's Probe
// (the session Send opens: the same port, TLS policy, EHLO name and AUTH
// mechanism), which authenticates when cfg has a username and quits
// without sending anything; SMTP only words what Probe saw.
func SMTP(ctx context.Context, cfg smtp.Config) Result {
	const name = "smtp"
	secrets := []string{cfg.Password}
	p, err := smtp.New(cfg)
	if errors.Is(err, smtp.ErrClearPassword) {
		return failed(name, TLS, "AUTH refused by cogmail: the password would go unencrypted to "+cfg.Host+" (only localhost may be used without TLS)")
	}
	if err != nil {
		return failed(name, Config, scrub(err.Error(), secrets))
	}
	s, err := p.Probe(ctx)
	if err != nil {
		return smtpFailure(s, cfg.Host, err, secrets)
	}

	var steps []string
	var warn *Result
	switch {
	case s.TLS == smtp.ImplicitTLS:
		steps = append(steps, "TLS")
	case s.TLS == smtp.NoTLS:
		steps = append(steps, "no TLS (policy none)")
	case s.TLSVersion != 0:
		steps = append(steps, "STARTTLS")
	default:
		steps = append(steps, "no STARTTLS offered")
		warn = &Result{Status: Warning, Problem: TLS, Message: s.Addr + " does not offer STARTTLS: mail would go unencrypted"}
	}
	if s.TLSVersion != 0 {
		steps[len(steps)-1] += " (" + tls.VersionName(s.TLSVersion) + ")"
	}
	if s.Auth != "" {
		steps = append(steps, "AUTH accepted")
	} else {
		steps = append(steps, "no AUTH (no username)")
	}
	utf8 := "; no SMTPUTF8: an address with a non-ASCII local part goes to another provider"
	if s.SMTPUTF8 {
		utf8 = "; SMTPUTF8 offered: it takes addresses with a non-ASCII local part"
	}
	r := ok(name, "connected to "+s.Addr+", "+strings.Join(steps, ", ")+"; quit without sending"+utf8)
	if warn != nil {
		return worst(name, r, *warn)
	}
	return r
}

// smtpFailure describes a failed Probe by the step that failed and what
// failed there: the relay's reply code, or the kind of error.
func smtpFailure(s smtp.Session, host string, err error, secrets []string) Result {
	const name = "smtp"
	var (
		pe    *provider.Error
		se    *smtp.StageError
		reply *textproto.Error
		proto textproto.ProtocolError
	)
	if !errors.As(err, &pe) || !errors.As(err, &se) {
		return failed(name, Unexpected, scrub(err.Error(), secrets))
	}
	addr, stage := s.Addr, string(se.Stage)
	// The provider's Reason names the stage and what failed there, redacted.
	reason := scrub(pe.Reason, secrets)
	switch {
	case provider.TimedOut(err):
		return failed(name, Unreachable, addr+": no answer within "+s.Timeout.String()+" ("+stage+")")
	case errors.Is(err, smtp.ErrUnencrypted):
		return failed(name, TLS, "AUTH refused by cogmail: the password would go unencrypted to "+host+" (only localhost may be used without TLS)")
	case errors.Is(err, smtp.ErrNoSTARTTLS):
		return failed(name, TLS, addr+" does not offer STARTTLS, which the TLS policy requires")
	case errors.Is(err, smtp.ErrNoAUTH):
		return failed(name, Credentials, addr+" does not offer AUTH, and a username is set")
	case errors.Is(err, smtp.ErrAuthMechanism):
		return failed(name, Credentials, addr+": "+scrub(se.Err.Error(), secrets))
	case errors.As(err, &reply):
		said := strconv.Itoa(reply.Code) + " " + scrub(strings.TrimSpace(reply.Msg), secrets)
		return replyFailure(se.Stage, reply.Code, said)
	case provider.TLSUntrusted(err):
		return failed(name, TLS, addr+": the relay's TLS certificate is not trusted ("+scrub(se.Err.Error(), secrets)+")")
	case errors.As(err, &proto):
		return failed(name, Unexpected, addr+" does not speak SMTP ("+stage+": "+scrub(proto.Error(), secrets)+")")
	case se.Stage == smtp.StageSTARTTLS || se.Stage == smtp.StageHandshake:
		return failed(name, TLS, addr+": "+reason)
	case se.Stage == smtp.StageConnect:
		if why := provider.NetReason(err); why != "" {
			reason = why
		}
		return failed(name, Unreachable, "cannot connect to "+addr+": "+reason)
	}
	return failed(name, Unreachable, addr+": "+reason)
}

// replyFailure describes a refusing SMTP reply by its code and stage.
func replyFailure(st smtp.Stage, code int, said string) Result {
	const name = "smtp"
	stage := string(st)
	switch {
	case st == smtp.StageAUTH && (code == 530 || code == 538):
		return failed(name, TLS, "the relay wants encryption before AUTH ("+said+")")
	case st == smtp.StageAUTH && code >= 500:
		return failed(name, Credentials, "the relay rejected the username or password ("+said+")")
	case st == smtp.StageSTARTTLS:
		return failed(name, TLS, "the relay refused STARTTLS ("+said+")")
	case code == 421 || code == 450 || code == 452 || code == 454:
		return failed(name, Throttled, "the relay is busy or limiting us at "+stage+" ("+said+")")
	case code >= 400 && code < 500:
		return failed(name, Unavailable, "the relay refused "+stage+" for now ("+said+")")
	}
	return failed(name, Unavailable, "the relay refused "+stage+" ("+said+")")
}
