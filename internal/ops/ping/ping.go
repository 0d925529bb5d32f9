// Package ping checks, without delivering any email, that a provider would
// take mail from a configuration, through the provider's own code (the
// client dispatch sends with): a SendGrid request in sandbox mode, a
// Mailgun message in test mode, the SES account's sending status and the
// sender's identity (ses.Provider's Account, CheckConfigurationSet and
// SenderIdentities), an SMTP session up to AUTH and then QUIT
// (smtp.Provider's Probe). Each check only words what the provider
// reports, as a Result whose Problem says what kind of thing is wrong, so
// the caller can say what to fix; no Result ever holds a key or password.
package ping

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/cogmail/cogmail/pkg/provider"
)

// Status is a check's outcome.
type Status string

// The outcomes.
const (
	OK      Status = "ok"
	Warning Status = "warning" // it works, with a limit worth knowing (the SES sandbox)
	Failed  Status = "failed"
)

// Problem is the kind of thing that is wrong; empty when nothing is.
type Problem string

// The problems a check reports.
const (
	Config      Problem = "configuration" // the settings cannot make a client
	Credentials Problem = "credentials"   // the key, password or AWS credentials are rejected
	Permission  Problem = "permission"    // authenticated, but not allowed to do this
	Domain      Problem = "domain"        // Mailgun: the domain is not in this account and region
	Sender      Problem = "sender"        // the sender is not a verified identity
	Account     Problem = "account"       // SES: sending disabled, paused or limited
	Throttled   Problem = "throttled"     // rate limited
	Rejected    Problem = "rejected"      // the provider refused the test request itself
	Unavailable Problem = "unavailable"   // the provider is failing (5xx, 4xx SMTP replies)
	Unreachable Problem = "unreachable"   // no answer: DNS, refused, reset, timeout
	TLS         Problem = "tls"           // STARTTLS missing or refused, certificate not trusted
	Unexpected  Problem = "unexpected"    // an answer that is not the provider's
)

// Result is one provider's check.
type Result struct {
	Provider string  `json:"provider"`
	Status   Status  `json:"status"`
	Problem  Problem `json:"problem,omitempty"`
	Message  string  `json:"message"` // one line, safe to print
}

func ok(name, msg string) Result { return Result{Provider: name, Status: OK, Message: msg} }

func failed(name string, p Problem, msg string) Result {
	return Result{Provider: name, Status: Failed, Problem: p, Message: msg}
}

// TestMessage is the request the HTTP pings send (in sandbox or test mode,
// so nothing is delivered): from the sender dispatch uses to to, by default
// the sender itself.
func TestMessage(from provider.Address, to string) provider.Message {
	if to == "" {
		to = from.Email
	}
	return provider.Message{
		From:    from,
		To:      to,
		Subject: "cogmail config check",
		Text:    "A sandbox request from cogmail config check --ping. Nothing is delivered.",
		Tags:    map[string]string{"cogmail": "config-check"},
	}
}

// httpFailure describes a failed SendGrid or Mailgun request. notFound is
// what a 404 means for this provider ("" when it means a wrong base URL).
func httpFailure(name, base string, err error, notFound string, secrets ...string) Result {
	var pe *provider.Error
	if !errors.As(err, &pe) {
		return failed(name, Unexpected, scrub(err.Error(), secrets))
	}
	reason := scrub(pe.Reason, secrets)
	said := func() string {
		s := strconv.Itoa(pe.Status) + " " + http.StatusText(pe.Status)
		if reason != "" && !strings.EqualFold(reason, http.StatusText(pe.Status)) {
			s += ": " + reason
		}
		return s
	}
	switch st := pe.Status; {
	case st == 0:
		if provider.TLSUntrusted(err) {
			return failed(name, TLS, "cannot reach "+base+": its TLS certificate is not trusted ("+reason+")")
		}
		return failed(name, Unreachable, "cannot reach "+base+": "+reason)
	case st >= 200 && st < 300:
		// A success status with a body that is not the provider's.
		return failed(name, Unexpected, reason+" at "+base+": a proxy in between, or the base URL is wrong")
	case st == http.StatusUnauthorized, st == http.StatusForbidden:
		return failed(name, Credentials, "the API key is rejected ("+said()+")")
	case st == http.StatusNotFound && notFound != "":
		return failed(name, Domain, notFound+" ("+said()+")")
	case st == http.StatusTooManyRequests:
		msg := "the provider is throttling this account (" + said()
		if pe.RetryAfter > 0 {
			msg += ", retry after " + pe.RetryAfter.String()
		}
		return failed(name, Throttled, msg+")")
	case st >= 500:
		return failed(name, Unavailable, "the provider is failing ("+said()+"): try again later, or check its status page")
	case pe.Class == provider.Permanent:
		return failed(name, Rejected, "the test request was rejected ("+said()+")")
	}
	return failed(name, Unexpected, "unexpected answer from "+base+" ("+said()+")")
}

// scrub removes secrets from text that may echo them.
func scrub(s string, secrets []string) string {
	for _, v := range secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, "REDACTED")
		}
	}
	return s
}

// worst combines the parts of a check: the worst status wins and brings
// its problem; the messages are joined in order.
func worst(name string, parts ...Result) Result {
	r := Result{Provider: name, Status: OK}
	rank := map[Status]int{OK: 0, Warning: 1, Failed: 2}
	var msgs []string
	for _, p := range parts {
		if rank[p.Status] > rank[r.Status] {
			r.Status, r.Problem = p.Status, p.Problem
		}
		if p.Message != "" {
			msgs = append(msgs, p.Message)
		}
	}
	r.Message = strings.Join(msgs, "; ")
	return r
}

func plural(n float64, unit string) string {
	return fmt.Sprintf("%s %s", strconv.FormatFloat(n, 'f', -1, 64), unit)
}

func itoa(n int) string { return strconv.Itoa(n) }
