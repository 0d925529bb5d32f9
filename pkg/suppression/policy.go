package suppression

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cogmail/cogmail/pkg/cognito"
)

// Policy says what a suppression does: per reason, the triggers still sent
// to a suppressed address, and how long a new entry lasts.
//
// The default (DefaultPolicy) is:
//
//	reason     still sent                                           lasts
//	bounce     nothing                                              30 days
//	complaint  ForgotPassword, Authentication, VerifyUserAttribute,  1 year
//	           UpdateUserAttribute
//	manual     nothing                                              until removed
//
// A hard bounce means the mailbox does not exist: every email to it bounces
// again and costs reputation, whatever the trigger. Thirty days lets a
// mailbox that is created later (a typo fixed by its owner's IT, a new
// employee) receive mail again without ops.
//
// A complaint means the person did not want something we sent. The codes
// they ask for themselves, while at the keyboard, are still sent: a reset
// code they requested, a sign-in code, the code confirming an address they
// just changed. Refusing those would lock a real user out of their account
// for having once pressed "spam". What stops is mail they did not ask for
// at that moment: AdminCreateUser invitations, AccountTakeOverNotification
// notices, and SignUp/ResendCode codes, which anyone can trigger by typing
// the address into a form, and which the complainer most likely never
// asked for in the first place.
type Policy struct {
	// Send lists, per reason, the triggers (short names: "ForgotPassword")
	// still sent to an address suppressed for that reason.
	Send map[Reason][]string `json:"send"`
	// TTL is how long an entry for each reason lasts; 0 or absent: until
	// removed.
	TTL map[Reason]time.Duration `json:"-"`
}

// DefaultPolicy is the documented default (see Policy).
func DefaultPolicy() Policy {
	return Policy{
		Send: map[Reason][]string{
			Complaint: {cognito.ForgotPassword.Short(), cognito.Authentication.Short(), cognito.VerifyUserAttribute.Short(), cognito.UpdateUserAttribute.Short()},
		},
		TTL: map[Reason]time.Duration{Bounce: 30 * 24 * time.Hour, Complaint: 365 * 24 * time.Hour},
	}
}

// Blocking returns the first entry that stops trigger (a full or short
// trigger source), in the order given; ok is false when none does.
func (p Policy) Blocking(entries []Entry, trigger string) (e Entry, ok bool) {
	short := strings.TrimPrefix(trigger, cognito.TriggerPrefix)
	for _, e := range entries {
		if !slices.Contains(p.Send[e.Reason], short) {
			return e, true
		}
	}
	return Entry{}, false
}

// Expiry is when an entry for r recorded at t ends; zero for never.
func (p Policy) Expiry(r Reason, t time.Time) time.Time {
	if d := p.TTL[r]; d > 0 {
		return t.Add(d)
	}
	return time.Time{}
}

// ParseSend reads the Send table's JSON form, as in
// COGMAIL_SUPPRESSION_SEND: {"complaint":["ForgotPassword","Authentication"]}.
// A reason left out sends nothing. Trigger names are checked.
func ParseSend(s string) (map[Reason][]string, error) {
	var raw map[string][]string
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, errors.New(`not a JSON object of reason to trigger list, like {"complaint":["ForgotPassword"]}`)
	}
	out := map[Reason][]string{}
	var errs []error
	for k, triggers := range raw {
		r, err := ParseReason(k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, t := range triggers {
			tr, err := cognito.ParseTrigger(t)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", k, err))
				continue
			}
			out[r] = append(out[r], tr.Short())
		}
	}
	return out, errors.Join(errs...)
}

// ParseTTL reads per-reason lifetimes, as in COGMAIL_SUPPRESSION_TTL:
// "bounce=720h,complaint=8760h,manual=0" (0: until removed). Reasons left
// out keep def's value.
func ParseTTL(s string, def map[Reason]time.Duration) (map[Reason]time.Duration, error) {
	out := map[Reason]time.Duration{}
	for k, v := range def {
		out[k] = v
	}
	var errs []error
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		r, err := ParseReason(k)
		if err != nil || !ok {
			errs = append(errs, fmt.Errorf("%q is not REASON=DURATION", item))
			continue
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration ≥ 0", k, v))
			continue
		}
		out[r] = d
	}
	return out, errors.Join(errs...)
}
