// Package suppressiontest is the suite every suppression.Store passes, so
// the in-memory list of the local stack and the DynamoDB table behave the
// same:
//
//	func TestStore(t *testing.T) { suppressiontest.Run(t, newStore) }
package suppressiontest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/suppression"
)

// Clock is the time a store under test reads; the suite moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at a whole second (DynamoDB's TTL has seconds).
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)} }

// Now is the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// NewStore returns an empty store that reads time from clock.
type NewStore func(t *testing.T, clock func() time.Time) suppression.Store

// Run runs the suite; each subtest gets a new, empty store.
func Run(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	setup := func(t *testing.T) (suppression.Store, *Clock) {
		c := NewClock()
		return newStore(t, c.Now), c
	}
	entry := func(c *Clock, addr string, r suppression.Reason) suppression.Entry {
		return suppression.Entry{Address: addr, Reason: r, Provider: "ses", ProviderMessageID: "pm-" + string(r), At: c.Now().Add(-time.Minute)}
	}

	t.Run("empty", func(t *testing.T) {
		s, _ := setup(t)
		if got := lookup(t, s, "a@example.com"); len(got) != 0 {
			t.Fatalf("Lookup on an empty list = %v", got)
		}
		if got := list(t, s); len(got) != 0 {
			t.Fatalf("List on an empty list = %v", got)
		}
	})

	t.Run("add then lookup, canonical address", func(t *testing.T) {
		s, c := setup(t)
		e := entry(c, "  Ana@Example.COM ", suppression.Bounce)
		e.ExpiresAt = c.Now().Add(time.Hour)
		if err := s.Add(ctx, e); err != nil {
			t.Fatal(err)
		}
		want := e
		want.Address = "Ana@example.com"
		for _, q := range []string{"Ana@example.com", "Ana@EXAMPLE.com", " Ana@example.com"} {
			got := lookup(t, s, q)
			if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Fatalf("Lookup(%q) = %+v, want [%+v]", q, got, want)
			}
		}
		if got := lookup(t, s, "ana@example.com"); len(got) != 0 {
			t.Fatalf("the local part is case-sensitive, but Lookup of another case found %v", got)
		}
	})

	t.Run("one entry per reason, the newest wins", func(t *testing.T) {
		s, c := setup(t)
		first := entry(c, "b@example.com", suppression.Complaint)
		second := first
		second.Provider, second.At = "sendgrid", first.At.Add(time.Second)
		bounce := entry(c, "b@example.com", suppression.Bounce)
		for _, e := range []suppression.Entry{first, second, bounce} {
			if err := s.Add(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		got := lookup(t, s, "b@example.com")
		if len(got) != 2 || got[0].Reason != suppression.Bounce || got[1].Reason != suppression.Complaint || got[1].Provider != "sendgrid" {
			t.Fatalf("Lookup = %+v, want bounce then the newer complaint", got)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		s, c := setup(t)
		e := entry(c, "c@example.com", suppression.Bounce)
		e.ExpiresAt = c.Now().Add(time.Hour)
		forever := entry(c, "c@example.com", suppression.Manual)
		for _, x := range []suppression.Entry{e, forever} {
			if err := s.Add(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		c.Advance(time.Hour - time.Second)
		if got := lookup(t, s, "c@example.com"); len(got) != 2 {
			t.Fatalf("before expiry: %v", got)
		}
		c.Advance(time.Second)
		got := lookup(t, s, "c@example.com")
		if len(got) != 1 || got[0].Reason != suppression.Manual {
			t.Fatalf("after expiry: %+v, want only the manual entry", got)
		}
		if l := list(t, s); len(l) != 1 {
			t.Fatalf("List after expiry: %+v", l)
		}
	})

	t.Run("remove lifts every reason", func(t *testing.T) {
		s, c := setup(t)
		for _, r := range suppression.Reasons {
			if err := s.Add(ctx, entry(c, "d@example.com", r)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Add(ctx, entry(c, "e@example.com", suppression.Bounce)); err != nil {
			t.Fatal(err)
		}
		n, err := s.Remove(ctx, "d@EXAMPLE.com")
		if err != nil || n != 3 {
			t.Fatalf("Remove = %d, %v; want 3", n, err)
		}
		if got := lookup(t, s, "d@example.com"); len(got) != 0 {
			t.Fatalf("after Remove: %v", got)
		}
		if n, err := s.Remove(ctx, "d@example.com"); err != nil || n != 0 {
			t.Fatalf("second Remove = %d, %v; want 0", n, err)
		}
		if got := lookup(t, s, "e@example.com"); len(got) != 1 {
			t.Fatalf("another address was removed too: %v", got)
		}
	})

	t.Run("list is ordered", func(t *testing.T) {
		s, c := setup(t)
		for _, a := range []string{"z@example.com", "m@example.com", "a@example.com"} {
			for _, r := range []suppression.Reason{suppression.Manual, suppression.Bounce} {
				if err := s.Add(ctx, entry(c, a, r)); err != nil {
					t.Fatal(err)
				}
			}
		}
		got := list(t, s)
		var keys []string
		for _, e := range got {
			keys = append(keys, e.Address+" "+string(e.Reason))
		}
		want := []string{"a@example.com bounce", "a@example.com manual", "m@example.com bounce", "m@example.com manual", "z@example.com bounce", "z@example.com manual"}
		if !reflect.DeepEqual(keys, want) {
			t.Fatalf("List = %v, want %v", keys, want)
		}
	})

	t.Run("invalid input", func(t *testing.T) {
		s, c := setup(t)
		bad := []suppression.Entry{
			{Address: "no-at-sign", Reason: suppression.Bounce, At: c.Now()},
			{Address: "a@example.com", Reason: "spite", At: c.Now()},
			{Address: "a@example.com", Reason: suppression.Bounce},
		}
		for _, e := range bad {
			if err := s.Add(ctx, e); err == nil {
				t.Errorf("Add(%+v) accepted", e)
			}
		}
		if _, err := s.Lookup(ctx, "nope"); err == nil {
			t.Error("Lookup of a non-address: no error")
		}
		if _, err := s.Remove(ctx, ""); err == nil {
			t.Error("Remove of an empty address: no error")
		}
	})

	t.Run("concurrent adds", func(t *testing.T) {
		s, c := setup(t)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				if err := s.Add(ctx, entry(c, fmt.Sprintf("u%d@example.com", i), suppression.Complaint)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := list(t, s); len(got) != 20 {
			t.Fatalf("List has %d entries, want 20", len(got))
		}
	})
}

func lookup(t *testing.T, s suppression.Store, address string) []suppression.Entry {
	t.Helper()
	es, err := s.Lookup(context.Background(), address)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func list(t *testing.T, s suppression.Store) []suppression.Entry {
	t.Helper()
	es, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return es
}
