package breaker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/dispatch/breaker"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func TestTransitions(t *testing.T) {
	t.Parallel()
	// Each step is an action and the state and Allow answer expected after it.
	type step struct {
		do        string // fail, ok, abandon, allow, wait
		by        time.Duration
		wantState breaker.State
		wantAllow bool // only checked for "allow"
	}
	const (
		C = breaker.Closed
		O = breaker.Open
		H = breaker.HalfOpen
	)
	open3 := []step{{do: "fail", wantState: C}, {do: "fail", wantState: C}, {do: "fail", wantState: O}}
	tests := []struct {
		name  string
		steps []step
	}{
		{"stays closed below the threshold", []step{
			{do: "fail", wantState: C},
			{do: "fail", wantState: C},
			{do: "allow", wantState: C, wantAllow: true},
		}},
		{"opens at the threshold and refuses calls", append(open3,
			step{do: "allow", wantState: O, wantAllow: false},
		)},
		{"a success resets the count", []step{
			{do: "fail", wantState: C}, {do: "fail", wantState: C},
			{do: "ok", wantState: C},
			{do: "fail", wantState: C}, {do: "fail", wantState: C},
		}},
		{"half-opens after the cooldown for one probe", append(open3,
			step{do: "wait", by: 9 * time.Second, wantState: O},
			step{do: "allow", wantState: O, wantAllow: false},
			step{do: "wait", by: time.Second, wantState: O},
			step{do: "allow", wantState: H, wantAllow: true},
			step{do: "allow", wantState: H, wantAllow: false},
		)},
		{"the probe's success closes it", append(open3,
			step{do: "wait", by: 10 * time.Second, wantState: O},
			step{do: "allow", wantState: H, wantAllow: true},
			step{do: "ok", wantState: C},
			step{do: "allow", wantState: C, wantAllow: true},
		)},
		{"the probe's failure opens it for another cooldown", append(open3,
			step{do: "wait", by: 10 * time.Second, wantState: O},
			step{do: "allow", wantState: H, wantAllow: true},
			step{do: "fail", wantState: O},
			step{do: "wait", by: 5 * time.Second, wantState: O},
			step{do: "allow", wantState: O, wantAllow: false},
			step{do: "wait", by: 5 * time.Second, wantState: O},
			step{do: "allow", wantState: H, wantAllow: true},
		)},
		{"an abandoned probe lets another probe through", append(open3,
			step{do: "wait", by: 10 * time.Second, wantState: O},
			step{do: "allow", wantState: H, wantAllow: true},
			step{do: "abandon", wantState: H},
			step{do: "allow", wantState: H, wantAllow: true},
		)},
		{"a late failure while open does not extend the cooldown", append(open3,
			step{do: "wait", by: 6 * time.Second, wantState: O},
			step{do: "fail", wantState: O},
			step{do: "wait", by: 4 * time.Second, wantState: O},
			step{do: "allow", wantState: H, wantAllow: true},
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{t: time.Unix(1e9, 0)}
			b := breaker.New(breaker.Options{Threshold: 3, Cooldown: 10 * time.Second, Now: clk.Now})
			for i, s := range tt.steps {
				switch s.do {
				case "fail":
					b.Failure(context.Background())
				case "ok":
					b.Success(context.Background())
				case "abandon":
					b.Abandon()
				case "wait":
					clk.Add(s.by)
				case "allow":
					if got := b.Allow(context.Background()); got != s.wantAllow {
						t.Fatalf("step %d: Allow = %v, want %v", i, got, s.wantAllow)
					}
				}
				if got := b.State(); got != s.wantState {
					t.Fatalf("step %d (%s): state %v, want %v", i, s.do, got, s.wantState)
				}
			}
		})
	}
}

func TestOneProbeAmongConcurrentCallers(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Unix(1e9, 0)}
	b := breaker.New(breaker.Options{Threshold: 1, Cooldown: time.Second, Now: clk.Now})
	b.Failure(context.Background())
	clk.Add(time.Second)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if b.Allow(context.Background()) {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 1 {
		t.Fatalf("%d callers allowed while half-open, want exactly 1", allowed.Load())
	}
}

func TestOnChangeReportsTransitions(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Unix(1e9, 0)}
	var got []string
	b := breaker.New(breaker.Options{Threshold: 2, Cooldown: time.Second, Now: clk.Now,
		OnChange: func(_ context.Context, from, to breaker.State) { got = append(got, from.String()+">"+to.String()) }})
	b.Failure(context.Background())
	b.Failure(context.Background())
	clk.Add(time.Second)
	b.Allow(context.Background())
	b.Success(context.Background())
	want := []string{"closed>open", "open>half-open", "half-open>closed"}
	if len(got) != len(want) {
		t.Fatalf("transitions %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("transitions %v, want %v", got, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	b := breaker.New(breaker.Options{})
	for range breaker.DefaultThreshold - 1 {
		b.Failure(context.Background())
	}
	if b.State() != breaker.Closed {
		t.Fatalf("opened before %d failures", breaker.DefaultThreshold)
	}
	b.Failure(context.Background())
	if b.State() != breaker.Open {
		t.Fatalf("not open after %d failures", breaker.DefaultThreshold)
	}
}

func BenchmarkAllowSuccess(b *testing.B) {
	br := breaker.New(breaker.Options{})
	b.ReportAllocs()
	for b.Loop() {
		if br.Allow(context.Background()) {
			br.Success(context.Background())
		}
	}
}

// TestProbeAt: an open breaker names the end of its cooldown, which is
// when the first message held for it should come back; otherwise now.
func TestProbeAt(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := breaker.New(breaker.Options{Threshold: 1, Cooldown: 30 * time.Second, Now: c.Now})
	ctx := context.Background()
	if got := b.ProbeAt(); !got.Equal(c.Now()) {
		t.Fatalf("closed: ProbeAt = %v, want now", got)
	}
	opened := c.Now()
	b.Failure(ctx)
	c.Add(10 * time.Second)
	if got, want := b.ProbeAt(), opened.Add(30*time.Second); !got.Equal(want) {
		t.Fatalf("open: ProbeAt = %v, want %v", got, want)
	}
	c.Add(20 * time.Second)
	if got := b.ProbeAt(); !got.Equal(c.Now()) {
		t.Fatalf("cooldown over: ProbeAt = %v, want now", got)
	}
	if !b.Allow(ctx) {
		t.Fatal("no probe after the cooldown")
	}
	if got := b.ProbeAt(); !got.Equal(c.Now()) {
		t.Fatalf("probing: ProbeAt = %v, want now", got)
	}
}
