// Package smsguard is the toll-fraud guard dispatch runs before every SMS
// send: a country allow-list, a per-number limit, a per-country hourly cap,
// a global daily segment budget and a prefix-velocity check, with an
// exemption for Authentication codes to verified numbers. It refuses what
// SMS pumping (bots sending codes to premium-rate numbers) looks like, and
// says why without the whole number. docs/sms.md#toll-fraud-guard is the
// operator's account of the rules and their defaults.
//
// The counts live in a sendlimit.Counter (the per-number limit and the
// distinct numbers per block) and a Ledger (the country caps and the
// budget): in memory (NewMemoryLedger, sendlimit.Memory) for the local
// stack and tests, or in the reputation table (pkg/reputationtable) in AWS.
//
// Dispatch needs one method, declared on its side:
//
//	type SMSGuard interface {
//		Check(ctx context.Context, m smsguard.Message) (smsguard.Verdict, error)
//	}
//
// A refused Verdict is a Delete outcome (not sent, not retried, not
// dead-lettered), reported with the Verdict's reason, country and masked
// number.
package smsguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/cogmail/cogmail/pkg/sendlimit"
)

// Reason says which rule refused a message: the Reason dimension of
// MetricBlocked and the reason dispatch reports. ("suppressed", the sixth
// reason an SMS is not sent, is dispatch's suppression list, not a rule here.)
type Reason string

// The rules, in the order Check applies them.
const (
	ReasonCountry        Reason = "country"         // the number's country is not on the allow-list (or SMS is off)
	ReasonNumberLimit    Reason = "number-limit"    // the number already had its limit's messages in this window
	ReasonPrefixVelocity Reason = "prefix-velocity" // too many distinct numbers of the number's block in this window
	ReasonCountryCap     Reason = "country-cap"     // the country had its cap's messages this hour
	ReasonBudget         Reason = "budget"          // the day's segment budget is spent
)

// The metrics the guard emits (namespace cogmail, CloudWatch EMF); the
// template's alarms use these names.
const (
	// MetricBlocked counts refused messages, dimension Reason.
	MetricBlocked = "SmsBlocked"
	// MetricExempt counts Authentication codes let over a rule by the
	// exemption, dimension Rule (country-cap or prefix-velocity).
	MetricExempt = "SmsExempt"
	// MetricSegments counts the segments of the messages allowed (each
	// message once): the daily budget's spend.
	MetricSegments = "SmsSegments"
)

// Message is what the guard needs to know about one SMS.
type Message struct {
	// ID identifies the message across SQS redeliveries (the envelope's
	// dedup key): checking it again counts nothing twice.
	ID string
	// Number is the recipient in E.164 (+14155552671), as ingest normalised it.
	Number string
	// Segments is the rendered text's segment count (at least 1).
	Segments int
	// Authentication is true for CustomSMSSender_Authentication (SMS OTP
	// and MFA sign-in codes).
	Authentication bool
	// Verified is Cognito's phone_number_verified attribute of the user,
	// as the trigger event carried it: someone holding the number has typed
	// a code sent to it back into Cognito. With Authentication, it lets the
	// message over the country cap and the prefix velocity (see docs/sms.md).
	Verified bool
}

// Verdict is the guard's answer for one message. It never holds the whole
// number: Number is masked.
type Verdict struct {
	// Refused is the rule that refused the message; empty when it may be sent.
	Refused Reason
	// Country is the number's ISO 3166 alpha-2 region ("" when it has none).
	Country string
	// Number is the masked number (+44******0123, phone.Mask).
	Number string
	// Exempt is set when the message was let over the country cap or the
	// prefix velocity by the Authentication exemption.
	Exempt bool
	// Detail says what was exceeded, for a log line or the local stack's
	// list ("GB cap 100/1h reached"); never the number or its block.
	Detail string
}

// Allowed reports whether the message may be sent.
func (v Verdict) Allowed() bool { return v.Refused == "" }

// LogValue logs the verdict under stable keys: country and masked (as
// phone.Number logs), then reason and detail when refused.
func (v Verdict) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("country", v.Country), slog.String("masked", v.Number)}
	if v.Refused != "" {
		attrs = append(attrs, slog.String("reason", string(v.Refused)), slog.String("detail", v.Detail))
	}
	if v.Exempt {
		attrs = append(attrs, slog.Bool("exempt", true))
	}
	return slog.GroupValue(attrs...)
}

// Counter counts distinct ids per key in fixed windows:
// sendlimit.Memory or reputationtable.Counter. The guard keys the
// per-number limit by the E.164 number and the prefix velocity by
// BlockKey, so both share the email limit's counter without meeting its
// addresses.
type Counter interface {
	Take(ctx context.Context, key, id string, l sendlimit.Limit) (bool, error)
}

// Metrics counts; *metrics.Emitter satisfies it.
type Metrics interface {
	Count(name string, n int, dims map[string]string)
}

// Deps are the guard's stores, metrics and clock.
type Deps struct {
	Counter Counter // required unless both the number limit and the prefix velocity are off
	Ledger  Ledger  // required unless both the country caps and the budget are off
	Metrics Metrics // optional
	Now     func() time.Time
}

// Guard checks SMS before they are sent. It is safe for concurrent use
// when its stores are.
type Guard struct {
	o Options
	d Deps
}

// New returns a guard with o's rules (zero fields take the defaults); it
// returns o's problems, naming their variables, or a missing store.
func New(o Options, d Deps) (*Guard, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if d.Counter == nil && (!o.NumberLimit.Off() || !o.PrefixVelocity.Off()) {
		return nil, errors.New("smsguard: a counter is required for the number limit and the prefix velocity")
	}
	if d.Ledger == nil && (o.countryCapsOn() || o.DailySegments > 0) {
		return nil, errors.New("smsguard: a ledger is required for the country caps and the budget")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Guard{o: o, d: d}, nil
}

// Check applies the rules to m in order: country, number-limit,
// prefix-velocity, then the country cap and the budget together (so a
// message refused by one spends nothing of the other). The allow-list
// needs no store, so it holds even when the stores fail.
//
// The error reports a store that could not be read; that rule was then
// skipped and the others still applied. A refusal is final, error or not:
// a Verdict that is not Allowed must not be sent. Whether to send an
// Allowed message despite an error is the caller's policy (dispatch's
// guard fails open, as for email: a lost sign-in code locks a user out).
func (g *Guard) Check(ctx context.Context, m Message) (Verdict, error) {
	n, err := parse(m.Number)
	v := Verdict{Country: n.region, Number: n.masked}
	if err != nil {
		return g.refuse(v, ReasonCountry, "the number has no country"), nil
	}
	if !g.o.allowed(n.region) {
		if len(g.o.Countries) == 0 {
			return g.refuse(v, ReasonCountry, "SMS is off: COGMAIL_SMS_COUNTRIES names no country"), nil
		}
		return g.refuse(v, ReasonCountry, "country "+countryName(n.region)+" is not on COGMAIL_SMS_COUNTRIES"), nil
	}
	if m.ID == "" {
		return v, errors.New("smsguard: a message id is required")
	}
	exempt := m.Authentication && m.Verified
	var errs []error

	if !g.o.NumberLimit.Off() {
		ok, err := g.d.Counter.Take(ctx, n.e164, m.ID, g.o.NumberLimit)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("smsguard: number limit: %w", err))
		case !ok:
			return g.refuse(v, ReasonNumberLimit, "number limit "+limitString(g.o.NumberLimit)+" reached"), errors.Join(errs...)
		}
	}

	if !g.o.PrefixVelocity.Off() {
		ok, err := g.d.Counter.Take(ctx, BlockKey(n.e164), n.e164, g.o.PrefixVelocity)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("smsguard: prefix velocity: %w", err))
		case !ok && exempt:
			v.Exempt = true
			g.count(MetricExempt, 1, map[string]string{"Rule": string(ReasonPrefixVelocity)})
		case !ok:
			return g.refuse(v, ReasonPrefixVelocity, "prefix velocity "+limitString(g.o.PrefixVelocity)+" reached: too many distinct numbers in this number's block of "+strconv.Itoa(blockSize)), errors.Join(errs...)
		}
	}

	limit := g.o.countryCap(n.region)
	if limit == 0 && g.o.DailySegments == 0 {
		return v, errors.Join(errs...)
	}
	segments := max(m.Segments, 1)
	out, err := g.d.Ledger.Spend(ctx, Spend{
		ID: m.ID, Country: n.region, Segments: segments, At: g.d.Now(),
		CountryCap: limit, Budget: g.o.DailySegments, OverCap: exempt,
	})
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("smsguard: ledger: %w", err))
	case out == OverBudget:
		return g.refuse(v, ReasonBudget, "daily budget of "+strconv.Itoa(g.o.DailySegments)+" segments (UTC day) reached"), errors.Join(errs...)
	case out == OverCountryCap:
		return g.refuse(v, ReasonCountryCap, n.region+" cap "+strconv.Itoa(limit)+"/1h reached"), errors.Join(errs...)
	case out == SpentOverCap:
		v.Exempt = true
		g.count(MetricExempt, 1, map[string]string{"Rule": string(ReasonCountryCap)})
		g.count(MetricSegments, segments, nil)
	case out == Spent:
		g.count(MetricSegments, segments, nil)
	}
	return v, errors.Join(errs...)
}

func (g *Guard) refuse(v Verdict, r Reason, detail string) Verdict {
	v.Refused, v.Detail = r, detail
	g.count(MetricBlocked, 1, map[string]string{"Reason": string(r)})
	return v
}

func (g *Guard) count(name string, n int, dims map[string]string) {
	if g.d.Metrics != nil {
		g.d.Metrics.Count(name, n, dims)
	}
}

func countryName(region string) string {
	if region == "" || region == "001" {
		return "(none: a non-geographic number)"
	}
	return region
}

// limitString is "5/1h" rather than sendlimit's "5/1h0m0s".
func limitString(l sendlimit.Limit) string {
	d := l.Window.String()
	for _, suffix := range []string{"m0s", "h0m"} {
		if len(d) > len(suffix) && d[len(d)-len(suffix):] == suffix {
			d = d[:len(d)-len(suffix)+1]
		}
	}
	return strconv.Itoa(l.N) + "/" + d
}
