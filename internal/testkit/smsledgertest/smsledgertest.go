// Package smsledgertest is the suite every smsguard.Ledger passes:
//
//	func TestLedger(t *testing.T) { smsledgertest.Run(t, newLedger) }
package smsledgertest

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/smsguard"
)

// NewLedger returns an empty ledger.
type NewLedger func(t *testing.T) smsguard.Ledger

// Run runs the suite; each subtest gets a new ledger. The concurrent spends
// are checked on every backend: a DynamoDB-backed ledger runs against a
// moto that applies one request at a time (motoserver.SharedSerial), as
// DynamoDB applies each transaction atomically.
func Run(t *testing.T, newLedger NewLedger) {
	ctx := context.Background()
	noon := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	type step struct {
		id, country string
		segments    int
		at          time.Duration // after noon
		cap, budget int
		overCap     bool
		want        smsguard.Outcome
	}
	spend := func(t *testing.T, l smsguard.Ledger, i int, s step) {
		t.Helper()
		got, err := l.Spend(ctx, smsguard.Spend{
			ID: s.id, Country: cmp.Or(s.country, "GB"), Segments: max(s.segments, 1), At: noon.Add(s.at),
			CountryCap: s.cap, Budget: s.budget, OverCap: s.overCap,
		})
		if err != nil || got != s.want {
			t.Fatalf("step %d (%+v): Spend = %v, %v; want %v", i, s, got, err, s.want)
		}
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"the country cap, per country and per hour", []step{
			{id: "a", cap: 2, want: smsguard.Spent},
			{id: "b", cap: 2, want: smsguard.Spent},
			{id: "c", cap: 2, want: smsguard.OverCountryCap},
			{id: "d", country: "US", cap: 2, want: smsguard.Spent},
			{id: "e", cap: 2, at: 59 * time.Minute, want: smsguard.OverCountryCap},
			{id: "f", cap: 2, at: time.Hour, want: smsguard.Spent},
		}},
		{"a message is spent once", []step{
			{id: "a", cap: 1, budget: 10, segments: 3, want: smsguard.Spent},
			{id: "a", cap: 1, budget: 10, segments: 3, want: smsguard.AlreadySpent},
			{id: "a", cap: 1, budget: 10, segments: 3, at: 2 * time.Hour, want: smsguard.AlreadySpent},
			{id: "b", cap: 5, budget: 10, segments: 7, want: smsguard.Spent}, // 3 + 7: a was counted once
			{id: "c", cap: 5, budget: 10, want: smsguard.OverBudget},
		}},
		{"the id is forgotten after SpentFor", []step{
			{id: "a", cap: 5, want: smsguard.Spent},
			{id: "a", cap: 5, at: smsguard.SpentFor - time.Second, want: smsguard.AlreadySpent},
			{id: "a", cap: 5, at: smsguard.SpentFor, want: smsguard.Spent},
		}},
		{"the budget counts segments per UTC day", []step{
			{id: "a", budget: 5, segments: 2, want: smsguard.Spent},
			{id: "b", budget: 5, segments: 3, want: smsguard.Spent},
			{id: "c", budget: 5, segments: 1, at: 11*time.Hour + 59*time.Minute, want: smsguard.OverBudget},
			{id: "d", budget: 5, segments: 5, at: 12 * time.Hour, want: smsguard.Spent},
			{id: "e", budget: 5, segments: 6, at: 36 * time.Hour, want: smsguard.OverBudget},
		}},
		{"refused by one, nothing spent of the other", []step{
			{id: "a", cap: 1, budget: 2, segments: 3, want: smsguard.OverBudget},
			{id: "b", cap: 1, budget: 2, segments: 2, want: smsguard.Spent}, // a took no place under the cap
			{id: "c", cap: 1, budget: 2, country: "US", want: smsguard.OverBudget},
			{id: "d", cap: 1, budget: 10, want: smsguard.OverCountryCap},
			{id: "e", cap: 5, budget: 10, segments: 8, want: smsguard.Spent}, // d spent no segments
		}},
		{"over both, the budget is reported", []step{
			{id: "a", cap: 1, budget: 1, want: smsguard.Spent},
			{id: "b", cap: 1, budget: 1, want: smsguard.OverBudget},
		}},
		{"the exemption goes over the cap, not over the budget", []step{
			{id: "a", cap: 1, budget: 4, want: smsguard.Spent},
			{id: "b", cap: 1, budget: 4, overCap: true, want: smsguard.SpentOverCap},
			{id: "c", cap: 1, budget: 4, want: smsguard.OverCountryCap}, // b was counted
			{id: "d", cap: 5, budget: 4, overCap: true, want: smsguard.Spent},
			{id: "e", cap: 1, budget: 4, overCap: true, segments: 2, want: smsguard.OverBudget},
			{id: "b", cap: 1, budget: 4, overCap: true, want: smsguard.AlreadySpent},
		}},
		{"no cap and no budget count nothing but the id", []step{
			{id: "a", want: smsguard.Spent},
			{id: "a", want: smsguard.AlreadySpent},
			{id: "b", cap: 1, want: smsguard.Spent},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger(t)
			for i, s := range tt.steps {
				spend(t, l, i, s)
			}
		})
	}

	t.Run("empty input", func(t *testing.T) {
		l := newLedger(t)
		for _, s := range []smsguard.Spend{{Country: "GB", Segments: 1}, {ID: "a", Segments: 1}, {ID: "a", Country: "GB"}} {
			if _, err := l.Spend(ctx, s); err == nil {
				t.Errorf("Spend(%+v): no error", s)
			}
		}
	})

	// Of 24 messages spent at once, exactly the cap's are Spent, and the
	// budget holds exactly: per-item atomicity, not luck.
	t.Run("concurrent spends are exact", func(t *testing.T) {
		for _, c := range []struct {
			name        string
			cap, budget int
			want        smsguard.Outcome
			allowed     int
		}{
			{"cap", 10, 0, smsguard.OverCountryCap, 10},
			{"budget", 0, 14, smsguard.OverBudget, 7}, // 2 segments each
		} {
			t.Run(c.name, func(t *testing.T) {
				l := newLedger(t)
				var mu sync.Mutex
				got := map[smsguard.Outcome]int{}
				var wg sync.WaitGroup
				for i := range 24 {
					wg.Go(func() {
						out, err := l.Spend(ctx, smsguard.Spend{ID: fmt.Sprint("m", i), Country: "GB", Segments: 2, At: noon, CountryCap: c.cap, Budget: c.budget})
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						got[out]++
						mu.Unlock()
					})
				}
				wg.Wait()
				if got[smsguard.Spent] != c.allowed || got[c.want] != 24-c.allowed {
					t.Fatalf("outcomes %v; want %d spent and %d %v", got, c.allowed, 24-c.allowed, c.want)
				}
			})
		}
	})
}
