// Package suppression is the list of addresses dispatch must not mail:
// hard bounces and complaints that came back from the providers, and
// addresses ops added by hand. An Entry says why, from which provider and
// until when; a Policy says, per reason, which triggers still go through.
// A Store keeps the list: Memory for the local stack and tests;
// pkg/reputationtable in DynamoDB. Both pass internal/testkit/suppressiontest.
package suppression

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cogmail/cogmail/pkg/recipient"
)

// Reason is why an address is suppressed.
type Reason string

const (
	Bounce    Reason = "bounce"    // a permanent (hard) bounce: the mailbox does not exist
	Complaint Reason = "complaint" // the recipient marked our mail as spam
	Manual    Reason = "manual"    // added by ops (cogmail suppressions add)
)

// Reasons lists every reason.
var Reasons = []Reason{Bounce, Complaint, Manual}

// ParseReason accepts a reason's name.
func ParseReason(s string) (Reason, error) {
	r := Reason(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Reasons, r) {
		return "", fmt.Errorf("suppression: reason %q is not bounce, complaint or manual", s)
	}
	return r, nil
}

// Entry is one suppression of one address for one reason. An address has
// at most one entry per reason; adding again replaces it.
type Entry struct {
	Address           string    `json:"address"` // canonical (recipient.Canonical)
	Reason            Reason    `json:"reason"`
	Provider          string    `json:"provider"` // who reported it; "ops" for Manual
	ProviderMessageID string    `json:"providerMessageId,omitempty"`
	At                time.Time `json:"at"`                 // when it happened
	ExpiresAt         time.Time `json:"expiresAt,omitzero"` // zero: never
}

// Live reports whether the entry is in force at now.
func (e Entry) Live(now time.Time) bool { return e.ExpiresAt.IsZero() || now.Before(e.ExpiresAt) }

// Store keeps the suppression list. Every method takes an address in any
// case or spacing and works on its canonical form.
type Store interface {
	// Add records e, replacing the address's entry for the same reason.
	Add(ctx context.Context, e Entry) error
	// Lookup returns the address's live entries, ordered by reason.
	Lookup(ctx context.Context, address string) ([]Entry, error)
	// Remove lifts every suppression of the address and says how many
	// entries there were.
	Remove(ctx context.Context, address string) (int, error)
	// List returns every live entry, ordered by address then reason.
	List(ctx context.Context) ([]Entry, error)
}

// Canonical is the key under which an address is kept; "" when it is not
// an address at all.
func Canonical(address string) string { return recipient.Canonical(address) }

// Check validates e and puts its address and times in canonical form;
// every Store calls it in Add.
func Check(e Entry) (Entry, error) {
	a := Canonical(e.Address)
	if a == "" {
		return e, fmt.Errorf("suppression: not an address")
	}
	if !slices.Contains(Reasons, e.Reason) {
		return e, fmt.Errorf("suppression: reason %q is not bounce, complaint or manual", e.Reason)
	}
	if e.At.IsZero() {
		return e, fmt.Errorf("suppression: an entry needs its time")
	}
	e.Address = a
	e.At = e.At.UTC()
	if !e.ExpiresAt.IsZero() {
		e.ExpiresAt = e.ExpiresAt.UTC()
	}
	return e, nil
}

// Sort orders entries by address, then reason, as List returns them.
func Sort(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int {
		if c := strings.Compare(a.Address, b.Address); c != 0 {
			return c
		}
		return strings.Compare(string(a.Reason), string(b.Reason))
	})
}
