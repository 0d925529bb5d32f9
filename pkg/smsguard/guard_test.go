package smsguard_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/testkit/smsledgertest"
	"github.com/cogmail/cogmail/pkg/metrics"
	"github.com/cogmail/cogmail/pkg/sendlimit"
	"github.com/cogmail/cogmail/pkg/smsguard"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// counts is a Metrics that keeps what it was told.
type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counts) Count(name string, n int, dims map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	k := name
	for _, d := range []string{"Reason", "Rule"} {
		if v, ok := dims[d]; ok {
			k += "{" + d + "=" + v + "}"
		}
	}
	c.m[k] += n
}

func (c *counts) get(k string) int { c.mu.Lock(); defer c.mu.Unlock(); return c.m[k] }

// newGuard is a guard on in-memory stores, at 12:00 UTC (a window start).
func newGuard(t *testing.T, o smsguard.Options) (*smsguard.Guard, *clock, *counts) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)}
	m := &counts{}
	g, err := smsguard.New(o, smsguard.Deps{
		Counter: sendlimit.NewMemory(clk.now),
		Ledger:  smsguard.NewMemoryLedger(),
		Metrics: m,
		Now:     clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return g, clk, m
}

type step struct {
	number  string
	id      string // default: a new id per step
	auth    bool
	verif   bool
	seg     int
	advance time.Duration
	want    smsguard.Reason // "" = allowed
	exempt  bool
}

func run(t *testing.T, g *smsguard.Guard, clk *clock, steps []step) {
	t.Helper()
	for i, s := range steps {
		clk.advance(s.advance)
		id := s.id
		if id == "" {
			id = fmt.Sprint("m", i)
		}
		v, err := g.Check(context.Background(), smsguard.Message{ID: id, Number: s.number, Segments: s.seg, Authentication: s.auth, Verified: s.verif})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if v.Refused != s.want || v.Exempt != s.exempt || v.Allowed() != (s.want == "") {
			t.Fatalf("step %d (%s): %+v; want refused=%q exempt=%v", i, s.number, v, s.want, s.exempt)
		}
	}
}

// numbers are n valid UK mobile numbers in one block of 10,000.
func ukBlock(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("+44741112%04d", i)
	}
	return out
}

func TestRules(t *testing.T) {
	gbus := []string{"GB", "US"}
	tests := []struct {
		name  string
		o     smsguard.Options
		steps func() []step
		count string // a metric that must have been counted
	}{
		{
			name:  "SMS is off until the countries are named",
			o:     smsguard.Options{},
			steps: func() []step { return []step{{number: "+447411123456", want: smsguard.ReasonCountry}} },
			count: "SmsBlocked{Reason=country}",
		},
		{
			name: "a country off the list is refused, one on it sent",
			o:    smsguard.Options{Countries: gbus},
			steps: func() []step {
				return []step{
					{number: "+447411123456"},
					{number: "+14155552671"},
					{number: "+33612345678", want: smsguard.ReasonCountry},
					{number: "+18765550123", want: smsguard.ReasonCountry},  // Jamaica is +1 but not US
					{number: "+447911123456", want: smsguard.ReasonCountry}, // Guernsey is +44 but not GB
					{number: "+881612345678", want: smsguard.ReasonCountry}, // a satellite network: no country
					{number: "not a number", want: smsguard.ReasonCountry},
				}
			},
			count: "SmsBlocked{Reason=country}",
		},
		{
			name: "the number limit, a redelivery counted once, a new window",
			o:    smsguard.Options{Countries: gbus, NumberLimit: sendlimit.Limit{N: 2, Window: time.Hour}},
			steps: func() []step {
				return []step{
					{number: "+447411123456", id: "a"},
					{number: "+447411123456", id: "a"},
					{number: "+447411123456", id: "b"},
					{number: "+447411123456", id: "c", want: smsguard.ReasonNumberLimit},
					{number: "+447411123457", id: "d"},
					{number: "+447411123456", id: "e", advance: time.Hour},
				}
			},
			count: "SmsBlocked{Reason=number-limit}",
		},
		{
			name: "the number limit is never exempted",
			o:    smsguard.Options{Countries: gbus, NumberLimit: sendlimit.Limit{N: 1, Window: time.Hour}},
			steps: func() []step {
				return []step{
					{number: "+447411123456", auth: true, verif: true},
					{number: "+447411123456", auth: true, verif: true, want: smsguard.ReasonNumberLimit},
				}
			},
			count: "SmsBlocked{Reason=number-limit}",
		},
		{
			name: "prefix velocity: distinct numbers of one block",
			o:    smsguard.Options{Countries: gbus, PrefixVelocity: sendlimit.Limit{N: 3, Window: time.Hour}},
			steps: func() []step {
				b := ukBlock(5)
				return []step{
					{number: b[0]}, {number: b[1]}, {number: b[0]}, {number: b[2]},
					{number: b[3], want: smsguard.ReasonPrefixVelocity},
					{number: b[1]},            // already in the block's set
					{number: "+447411130000"}, // the next block
					{number: b[4], auth: true, want: smsguard.ReasonPrefixVelocity}, // not verified
					{number: b[4], auth: true, verif: true, exempt: true},
					{number: b[4], verif: true, want: smsguard.ReasonPrefixVelocity}, // verified but not a sign-in code
					{number: b[4], advance: time.Hour},
				}
			},
			count: "SmsBlocked{Reason=prefix-velocity}",
		},
		{
			name: "the country cap, and the exemption over it",
			o:    smsguard.Options{Countries: gbus, CountryCap: 2, PrefixVelocity: sendlimit.Limit{N: -1}},
			steps: func() []step {
				b := ukBlock(6)
				return []step{
					{number: b[0], id: "x"}, {number: b[1]},
					{number: b[1], id: "x"}, // a redelivery of x, already spent
					{number: b[2], want: smsguard.ReasonCountryCap},
					{number: "+14155552671"}, // another country
					{number: b[3], auth: true, want: smsguard.ReasonCountryCap},
					{number: b[3], auth: true, verif: true, exempt: true},
					{number: b[4], verif: true, want: smsguard.ReasonCountryCap},
					{number: b[5], advance: time.Hour},
				}
			},
			count: "SmsExempt{Rule=country-cap}",
		},
		{
			name: "a country's own cap",
			o:    smsguard.Options{Countries: gbus, CountryCap: 1, CountryCaps: map[string]int{"US": 3}, PrefixVelocity: sendlimit.Limit{N: -1}},
			steps: func() []step {
				return []step{
					{number: "+447411123456"}, {number: "+447411123457", want: smsguard.ReasonCountryCap},
					{number: "+14155552671"}, {number: "+14155552672"}, {number: "+14155552673"},
					{number: "+14155552674", want: smsguard.ReasonCountryCap},
				}
			},
			count: "SmsBlocked{Reason=country-cap}",
		},
		{
			name: "the daily budget counts segments, is never exempted, and starts again at 00:00 UTC",
			o:    smsguard.Options{Countries: gbus, DailySegments: 5, PrefixVelocity: sendlimit.Limit{N: -1}},
			steps: func() []step {
				return []step{
					{number: "+447411123456", seg: 2},
					{number: "+14155552671", seg: 2},
					{number: "+14155552672", seg: 2, auth: true, verif: true, want: smsguard.ReasonBudget},
					{number: "+14155552673", seg: 1},
					{number: "+14155552674", want: smsguard.ReasonBudget},
					{number: "+14155552675", advance: 11*time.Hour + 59*time.Minute, want: smsguard.ReasonBudget},
					{number: "+14155552676", advance: time.Minute},
				}
			},
			count: "SmsBlocked{Reason=budget}",
		},
		{
			name: "a message refused by the budget takes no place under the country cap",
			o:    smsguard.Options{Countries: gbus, CountryCap: 1, DailySegments: 2, PrefixVelocity: sendlimit.Limit{N: -1}},
			steps: func() []step {
				return []step{
					{number: "+447411123456", seg: 3, want: smsguard.ReasonBudget},
					{number: "+447411123457", seg: 1},
					{number: "+447411123458", seg: 1, want: smsguard.ReasonCountryCap},
				}
			},
			count: "SmsBlocked{Reason=budget}",
		},
		{
			name: "everything off but the allow-list",
			o: smsguard.Options{Countries: gbus, NumberLimit: sendlimit.Limit{N: -1}, PrefixVelocity: sendlimit.Limit{N: -1},
				CountryCap: -1, DailySegments: -1},
			steps: func() []step {
				var s []step
				for range 20 {
					s = append(s, step{number: "+447411123456"})
				}
				return append(s, step{number: "+33612345678", want: smsguard.ReasonCountry})
			},
			count: "SmsBlocked{Reason=country}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, clk, m := newGuard(t, tt.o)
			run(t, g, clk, tt.steps())
			if m.get(tt.count) == 0 {
				t.Errorf("%s not counted: %v", tt.count, m.m)
			}
		})
	}
}

func TestSegmentsCounted(t *testing.T) {
	g, clk, m := newGuard(t, smsguard.Options{Countries: []string{"GB"}})
	run(t, g, clk, []step{{number: "+447411123456", seg: 2, id: "a"}, {number: "+447411123456", seg: 2, id: "a"}, {number: "+447411123457"}})
	if got := m.get("SmsSegments"); got != 3 {
		t.Fatalf("SmsSegments = %d, want 3 (a redelivery is not spent twice; no count means 1)", got)
	}
}

// A store that fails: the allow-list still holds, the other rules still
// apply, and a refusal stays a refusal.
func TestStoreErrors(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)}
	g, err := smsguard.New(smsguard.Options{Countries: []string{"GB"}, CountryCap: 1}, smsguard.Deps{
		Counter: failing{}, Ledger: smsguard.NewMemoryLedger(), Now: clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v, err := g.Check(ctx, smsguard.Message{ID: "a", Number: "+33612345678"})
	if err != nil || v.Refused != smsguard.ReasonCountry {
		t.Fatalf("off the list with a failing counter: %+v, %v", v, err)
	}
	v, err = g.Check(ctx, smsguard.Message{ID: "b", Number: "+447411123456"})
	if !errors.Is(err, errDown) || !v.Allowed() {
		t.Fatalf("failing counter: %+v, %v; want allowed with the error", v, err)
	}
	v, err = g.Check(ctx, smsguard.Message{ID: "c", Number: "+447411123457"})
	if !errors.Is(err, errDown) || v.Refused != smsguard.ReasonCountryCap {
		t.Fatalf("failing counter, full cap: %+v, %v; want country-cap with the error", v, err)
	}
}

var errDown = errors.New("table unreachable")

type failing struct{}

func (failing) Take(context.Context, string, string, sendlimit.Limit) (bool, error) {
	return false, errDown
}

func TestNewNeedsStores(t *testing.T) {
	if _, err := smsguard.New(smsguard.Options{Countries: []string{"GB"}}, smsguard.Deps{Ledger: smsguard.NewMemoryLedger()}); err == nil {
		t.Error("no counter with the number limit on: no error")
	}
	if _, err := smsguard.New(smsguard.Options{Countries: []string{"GB"}}, smsguard.Deps{Counter: sendlimit.NewMemory(nil)}); err == nil {
		t.Error("no ledger with the caps on: no error")
	}
	if _, err := smsguard.New(smsguard.Options{Countries: []string{"GB"}, NumberLimit: sendlimit.Limit{N: -1}, PrefixVelocity: sendlimit.Limit{N: -1}, CountryCap: -1, DailySegments: -1}, smsguard.Deps{}); err != nil {
		t.Errorf("everything off needs no store: %v", err)
	}
}

// TestConcurrentChecks: under parallel Checks the counts are exact: of 64
// messages to one country with a cap of 20, exactly 20 are sent, and of
// 64 distinct numbers in one block with a velocity of 10, exactly 10.
func TestConcurrentChecks(t *testing.T) {
	cases := []struct {
		name   string
		o      smsguard.Options
		number func(i int) string
		want   int
		reason smsguard.Reason
	}{
		{"country cap", smsguard.Options{Countries: []string{"GB"}, CountryCap: 20, PrefixVelocity: sendlimit.Limit{N: -1}},
			func(i int) string { return fmt.Sprintf("+4474%02d123456", i) }, 20, smsguard.ReasonCountryCap},
		{"prefix velocity", smsguard.Options{Countries: []string{"GB"}, CountryCap: -1},
			func(i int) string { return ukBlock(64)[i] }, 10, smsguard.ReasonPrefixVelocity},
		{"number limit", smsguard.Options{Countries: []string{"GB"}},
			func(int) string { return "+447411123456" }, 5, smsguard.ReasonNumberLimit},
		{"budget", smsguard.Options{Countries: []string{"GB"}, DailySegments: 30, CountryCap: -1, PrefixVelocity: sendlimit.Limit{N: -1}},
			func(i int) string { return fmt.Sprintf("+4474%02d123456", i) }, 15, smsguard.ReasonBudget},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			g, _, m := newGuard(t, tt.o)
			var mu sync.Mutex
			sent := 0
			var wg sync.WaitGroup
			for i := range 64 {
				wg.Go(func() {
					v, err := g.Check(context.Background(), smsguard.Message{ID: fmt.Sprint("m", i), Number: tt.number(i), Segments: 2})
					if err != nil {
						t.Error(err)
					}
					if v.Allowed() {
						mu.Lock()
						sent++
						mu.Unlock()
					} else if v.Refused != tt.reason {
						t.Errorf("refused for %s, want %s", v.Refused, tt.reason)
					}
				})
			}
			wg.Wait()
			if sent != tt.want {
				t.Fatalf("%d of 64 sent, want exactly %d", sent, tt.want)
			}
			if got := m.get("SmsBlocked{Reason=" + string(tt.reason) + "}"); got != 64-tt.want {
				t.Fatalf("SmsBlocked = %d, want %d", got, 64-tt.want)
			}
		})
	}
}

// TestNoWholeNumber: no verdict, log line or metric of any rule carries
// the whole number, its national digits or its block (which, beside the
// masked number, would give it away).
func TestNoWholeNumber(t *testing.T) {
	var logs, emf bytes.Buffer
	clk := &clock{t: time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)}
	g, err := smsguard.New(smsguard.Options{
		Countries: []string{"GB"}, NumberLimit: sendlimit.Limit{N: 1, Window: time.Hour},
		PrefixVelocity: sendlimit.Limit{N: 2, Window: time.Hour}, CountryCap: 4, DailySegments: 6,
	}, smsguard.Deps{
		Counter: sendlimit.NewMemory(clk.now), Ledger: smsguard.NewMemoryLedger(),
		Metrics: metrics.New(&emf, "dispatch", clk.now), Now: clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	numbers := []string{
		"+447411123456", "+447411123456", // number-limit
		"+447411120001", "+447411120002", // prefix velocity
		"+447422123456", "+447433123456", "+447444123456", // country cap (4 spent)
		"+33612345678", // country
	}
	seen := map[smsguard.Reason]bool{}
	for i, n := range numbers {
		v, err := g.Check(context.Background(), smsguard.Message{ID: fmt.Sprint("m", i), Number: n, Segments: 1})
		if err != nil {
			t.Fatal(err)
		}
		seen[v.Refused] = true
		log.Info("sms", "sms", v)
		fmt.Fprintf(&logs, "%v %+v %s\n", v, v, v.Detail)
	}
	clk.advance(time.Hour) // a new hour; the day's budget (6) has 2 left
	for i, n := range []string{"+447455123456", "+447466123456", "+447477123456"} {
		v, _ := g.Check(context.Background(), smsguard.Message{ID: fmt.Sprint("d", i), Number: n, Segments: 1})
		seen[v.Refused] = true
		log.Info("sms", "sms", v)
	}
	for _, r := range []smsguard.Reason{smsguard.ReasonCountry, smsguard.ReasonNumberLimit, smsguard.ReasonPrefixVelocity, smsguard.ReasonCountryCap, smsguard.ReasonBudget} {
		if !seen[r] {
			t.Fatalf("no %s refusal in the run: the test does not cover it", r)
		}
	}
	out := logs.String() + emf.String()
	if !strings.Contains(out, "+44******3456") || !strings.Contains(out, `"country":"GB"`) {
		t.Fatalf("the log lacks the masked number or the country:\n%s", out)
	}
	for _, n := range append(numbers, "+447455123456", "+447477123456") {
		for _, leak := range []string{n, n[1:], n[3:], n[:len(n)-4], n[3 : len(n)-4]} {
			if strings.Contains(out, leak) {
				t.Fatalf("%q (of a number) appears in:\n%s", leak, out)
			}
		}
	}
}

func TestMemoryLedger(t *testing.T) {
	smsledgertest.Run(t, func(*testing.T) smsguard.Ledger { return smsguard.NewMemoryLedger() })
}
