package dispatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/idempotency"
	"github.com/cogmail/cogmail/pkg/routing"
)

// TestSentLineCarriesTheReceipt: the provider's message id is on the
// "sent" line, so a message can be found in the provider's console.
func TestSentLineCarriesTheReceipt(t *testing.T) {
	t.Parallel()
	a, b := newSender("a", unavailable("a")), newSender("b")
	f := newFixture(t, a, b)
	rec, _ := f.message()
	if resp, _ := f.handler().Handle(context.Background(), batch(rec)); len(reported(resp)) != 0 {
		t.Fatalf("reported %v", reported(resp))
	}
	var sent []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(f.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "sent" {
			sent = append(sent, m)
		}
	}
	if len(sent) != 1 || sent[0]["provider"] != "b" || sent[0]["providerMessageId"] != "b-id-1" {
		t.Fatalf(`"sent" lines %v: want one by b with providerMessageId b-id-1`, sent)
	}
}

// TestClaimSettlesOnEveryPath: once a message's dedup key is claimed in
// the idempotency table, every way out of handling it completes the claim
// (sent) or releases it (anything else), and a released key can be sent
// by the next copy.
func TestClaimSettlesOnEveryPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		setup    func(f *fixture, a *sender)
		adjust   func(*dispatch.Deps, *dispatch.Options)
		tamper   bool
		complete bool
		metric   string
	}{
		{name: "sent", complete: true, metric: "Sent{Provider=a,Trigger=SignUp}"},
		{name: "provider down", setup: func(_ *fixture, a *sender) { a.final = unavailable("a") }, metric: "Failed{Reason=unavailable}"},
		{name: "rejected", setup: func(_ *fixture, a *sender) { a.final = permanent("a") }, metric: "DLQ{Reason=permanent}"},
		{name: "KMS down", setup: func(f *fixture, _ *sender) { f.kms.Fail = errors.New("KMS: ThrottlingException") }, metric: "Failed{Reason=kms}"},
		{name: "unsealable", tamper: true, metric: "DLQ{Reason=unsealable}"},
		{name: "no provider routed", adjust: func(d *dispatch.Deps, _ *dispatch.Options) {
			d.Routes = routing.Static{Providers: []string{"elsewhere"}}
		}, metric: "Failed{Reason=no-provider}"},
		{name: "provider panics", setup: func(_ *fixture, a *sender) { a.hook = func(context.Context) { panic("boom") } }, metric: "Failed{Reason=panic}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newSender("a")
			f := newFixture(t, a)
			rec, _ := f.message()
			if tt.tamper {
				var env envelope.Envelope
				_ = json.Unmarshal([]byte(rec.Body), &env)
				env.Sealed.Ciphertext[0] ^= 1
				b, _ := json.Marshal(env)
				rec.Body = string(b)
			}
			if tt.setup != nil {
				tt.setup(f, a)
			}
			store := &idem{answer: idempotency.Claimed}
			h := f.handler(func(d *dispatch.Deps, o *dispatch.Options) {
				d.Idempotency = store
				o.MessageBudget = 5 * time.Second
				if tt.adjust != nil {
					tt.adjust(d, o)
				}
			})
			if _, err := h.Handle(context.Background(), batch(rec)); err != nil {
				t.Fatal(err)
			}
			wantC, wantR := 0, 1
			if tt.complete {
				wantC, wantR = 1, 0
			}
			if len(store.completes) != wantC || len(store.releases) != wantR {
				t.Fatalf("completes %d, releases %d; want %d, %d", len(store.completes), len(store.releases), wantC, wantR)
			}
			if got := counts(f.emf.String()); got[tt.metric] != 1 {
				t.Fatalf("want %s: %v", tt.metric, got)
			}
			// The container's own dedup cache settled too: a second copy is
			// a duplicate after a send and is handled again otherwise.
			a.hook, a.final = nil, nil
			f.kms.Fail = nil
			before := a.Calls()
			h.Handle(context.Background(), batch(rec))
			dup := counts(f.emf.String())["Duplicate"] == 1
			if dup != tt.complete {
				t.Errorf("second copy: duplicate %v, want %v (provider calls %d→%d)", dup, tt.complete, before, a.Calls())
			}
		})
	}
}

// TestSkippedOutcomes: a message deleted without a send is reported as
// skipped, with its reason, and never as sent or failed.
func TestSkippedOutcomes(t *testing.T) {
	t.Parallel()
	a := newSender("a")
	f := newFixture(t, a)
	h := f.handler(func(_ *dispatch.Deps, o *dispatch.Options) { o.DropExpired = true })
	expired, _ := f.message(func(e *envelope.Envelope, _ *envelope.Payload) { e.ExpiresAt = f.clock.Now().Add(-time.Second) })
	fresh, _ := f.message()
	ctx := context.Background()
	if resp, _ := h.Handle(ctx, batch(expired)); len(reported(resp)) != 0 || len(f.queue.DLQ()) != 0 {
		t.Fatalf("expired with DropExpired: reported %v, DLQ %d; want it deleted", reported(resp), len(f.queue.DLQ()))
	}
	h.Handle(ctx, batch(fresh))
	h.Handle(ctx, batch(fresh))
	got := counts(f.emf.String())
	want := map[string]float64{
		"Skipped{Reason=expired}": 1, "Skipped{Reason=duplicate}": 1, "Duplicate{Trigger=SignUp}": 1,
		"Sent{Provider=a,Trigger=SignUp}": 1, "Failed{Reason=expired}": 0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if n := strings.Count(f.logs.String(), `"msg":"not sent; deleted from the queue"`); n != 2 {
		t.Errorf("%d skipped lines, want 2:\n%s", n, f.logs.String())
	}
	if len(a.Sent()) != 1 {
		t.Errorf("%d sent, want 1", len(a.Sent()))
	}
}
