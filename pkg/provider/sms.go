package provider

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// SMS is one rendered text message to one phone number: what an SMS
// provider (sns, smsvoice, twilio) sends. The text holds the code, and the
// number is personal data: neither may appear in an error or a log line.
type SMS struct {
	// ID is our message id (the queue message id). Providers send it as
	// their metadata or idempotency key where they have one, so a redelivery
	// can be traced; it holds nothing secret.
	ID string
	// To is the recipient in E.164 form: "+" then 7 to 15 digits, the
	// first not 0 ("+14155552671"). Ingest normalises phone_number to it.
	To string
	// Text is the rendered message, code included.
	Text string
	// Trigger is the Cognito trigger source ("CustomSMSSender_SignUp"),
	// for the providers' analytics metadata. Optional.
	Trigger string
}

// MaxSMSText is the longest Text accepted, in characters: the maximum body
// of Twilio's Messages API and of End User Messaging's SendTextMessage. An
// authentication code is far shorter; the renderer's segment limit is the
// real bound.
const MaxSMSText = 1600

// Validate reports what is wrong with m, naming fields but never quoting
// their values. Providers call it before any I/O and report a failure as a
// Permanent error.
func (m SMS) Validate() error {
	var errs []error
	if !E164(m.To) {
		errs = append(errs, errors.New("To is not an E.164 phone number"))
	}
	switch {
	case strings.TrimSpace(m.Text) == "":
		errs = append(errs, errors.New("Text is empty"))
	case !utf8.ValidString(m.Text):
		errs = append(errs, errors.New("Text is not valid UTF-8"))
	case utf8.RuneCountInString(m.Text) > MaxSMSText:
		errs = append(errs, errors.New("Text is longer than 1600 characters"))
	}
	if strings.ContainsAny(m.Trigger, "\r\n") || strings.ContainsAny(m.ID, "\r\n") {
		errs = append(errs, errors.New("ID or Trigger contains a line break"))
	}
	return errors.Join(errs...)
}

// E164 reports whether s is a phone number in E.164 form: "+", a first
// digit 1-9, then 6 to 14 more digits and nothing else. It checks the form
// only; ingest checks that the number exists in its country's plan.
func E164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Suppresses reports whether err says the recipient must not be sent to
// again: an opt-out (the person replied STOP, or the carrier says so) or a
// number that cannot receive SMS at all. Such an error is Permanent, and
// the number goes on the suppression list, keyed by E.164.
func Suppresses(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Suppress
}
