package smsguard

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Spend is one message's use of the country cap and the budget.
type Spend struct {
	// ID identifies the message: spending it again (an SQS redelivery, a
	// retry after a provider outage) changes nothing and reports
	// AlreadySpent, so retries do not eat the budget.
	ID       string
	Country  string // ISO 3166 alpha-2
	Segments int    // at least 1
	At       time.Time
	// CountryCap is the country's messages per hour (fixed windows from the
	// epoch); 0: no cap.
	CountryCap int
	// Budget is the segments per UTC day, all countries; 0: no budget.
	Budget int
	// OverCap lets the message over the country cap (the exemption); it
	// is still counted there, and the budget still applies.
	OverCap bool
}

// Outcome is what a Ledger made of a Spend.
type Outcome int

const (
	// Spent: counted in the country's hour and the day.
	Spent Outcome = iota + 1
	// SpentOverCap: counted, over the country cap by the exemption.
	SpentOverCap
	// AlreadySpent: this id was spent before; nothing counted again.
	AlreadySpent
	// OverCountryCap: the country's hour is full; nothing counted.
	OverCountryCap
	// OverBudget: the day's budget would be exceeded; nothing counted.
	// It wins over OverCountryCap when both apply.
	OverBudget
)

// Ledger counts what allowed SMS spend. A Spend is all or nothing: a
// message refused by the budget takes no place under the country cap, and
// the other way round. NewMemoryLedger is one; reputationtable.Ledger is
// one in DynamoDB (one transaction per Spend).
type Ledger interface {
	Spend(ctx context.Context, s Spend) (Outcome, error)
}

// SpentFor is how long a spent id is remembered: longer than any message is
// retried (dispatch's COGMAIL_MAX_AGE, a day at most, counted from ingest).
const SpentFor = 48 * time.Hour

// MemoryLedger is a Ledger in one process, safe for concurrent use; it
// forgets windows and ids that have ended.
type MemoryLedger struct {
	mu      sync.Mutex
	spent   map[string]time.Time // id → until
	hours   map[hourKey]int      // messages
	days    map[int64]int        // UTC day start → segments
	lastGC  time.Time
	gcEvery time.Duration
}

// NewMemoryLedger returns an empty ledger.
func NewMemoryLedger() *MemoryLedger {
	return &MemoryLedger{spent: map[string]time.Time{}, hours: map[hourKey]int{}, days: map[int64]int{}, gcEvery: time.Hour}
}

// Spend implements Ledger.
func (l *MemoryLedger) Spend(_ context.Context, s Spend) (Outcome, error) {
	if s.ID == "" || s.Country == "" || s.Segments < 1 {
		return 0, errSpend
	}
	hour, day := Windows(s.At)
	hk := hourKey{s.Country, hour.Unix()}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gc(s.At)
	if until, ok := l.spent[s.ID]; ok && s.At.Before(until) {
		return AlreadySpent, nil
	}
	if s.Budget > 0 && l.days[day.Unix()]+s.Segments > s.Budget {
		return OverBudget, nil
	}
	out := Spent
	if s.CountryCap > 0 && l.hours[hk] >= s.CountryCap {
		if !s.OverCap {
			return OverCountryCap, nil
		}
		out = SpentOverCap
	}
	l.spent[s.ID] = s.At.Add(SpentFor)
	// Counted only while on, as in the table: a cap turned on counts from then.
	if s.CountryCap > 0 {
		l.hours[hk]++
	}
	if s.Budget > 0 {
		l.days[day.Unix()] += s.Segments
	}
	return out, nil
}

type hourKey struct {
	country string
	start   int64
}

// gc drops what has ended, at most once an hour of the callers' clock.
func (l *MemoryLedger) gc(now time.Time) {
	if now.Sub(l.lastGC) < l.gcEvery {
		return
	}
	l.lastGC = now
	for id, until := range l.spent {
		if !now.Before(until) {
			delete(l.spent, id)
		}
	}
	hour, day := Windows(now)
	for k := range l.hours {
		if k.start < hour.Unix() {
			delete(l.hours, k)
		}
	}
	for d := range l.days {
		if d < day.Unix() {
			delete(l.days, d)
		}
	}
}

// Windows are the starts of the hour and the UTC day holding t: the
// country cap's and the budget's windows.
func Windows(t time.Time) (hour, day time.Time) {
	return t.Truncate(time.Hour).UTC(), t.Truncate(24 * time.Hour).UTC()
}

var errSpend = errors.New("smsguard: a spend needs an id, a country and at least one segment")
