// Package sendlimit caps how many emails one address receives in a window,
// so that nobody can bomb an address by typing it into a sign-up or "resend
// code" form again and again. A Counter counts per address and message id:
// taking the same message again (an SQS redelivery) does not count twice.
// Memory counts in one process (the local stack, tests);
// pkg/reputationtable counts in DynamoDB with atomic conditional updates,
// shared by every container. Both pass internal/testkit/sendlimittest.
//
// Windows are fixed (aligned to the epoch), not sliding: an address can get
// up to 2N emails around a window's edge, and never more.
package sendlimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit is at most N emails per address per Window. The zero Limit is off.
type Limit struct {
	N      int
	Window time.Duration
}

// Off reports whether the limit is disabled.
func (l Limit) Off() bool { return l.N <= 0 || l.Window <= 0 }

// String is the N/DURATION form ("5/1h0m0s"), or "off".
func (l Limit) String() string {
	if l.Off() {
		return "off"
	}
	return strconv.Itoa(l.N) + "/" + l.Window.String()
}

// MarshalText writes the N/DURATION form, so a Limit can sit in JSON.
func (l Limit) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads what Parse reads.
func (l *Limit) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Default is the documented default: 5 emails per address per hour. A
// person signing up, resending a code twice and resetting a password stays
// well within it; a bomber gets 5 an hour, 120 a day, instead of thousands.
var Default = Limit{N: 5, Window: time.Hour}

// Parse reads "N/DURATION" ("5/1h", "3/15m") or "off".
func Parse(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return Limit{}, nil
	}
	n, w, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || count < 1 {
		return Limit{}, fmt.Errorf("sendlimit: %q is not N/DURATION (like 5/1h) or off", s)
	}
	d, err := time.ParseDuration(strings.TrimSpace(w))
	if err != nil || d < time.Second {
		return Limit{}, fmt.Errorf("sendlimit: %q: the window is not a duration of at least 1s", s)
	}
	return Limit{N: count, Window: d}, nil
}

// Counter counts emails per address.
type Counter interface {
	// Take counts message id for address in the current window of l and
	// reports whether it may be sent: true while the window holds fewer
	// than l.N messages, or already holds this one.
	Take(ctx context.Context, address, id string, l Limit) (bool, error)
}

// window is the start of the window holding now.
func window(now time.Time, l Limit) time.Time { return now.Truncate(l.Window) }

var errEmpty = errors.New("sendlimit: an address and a message id are required")
