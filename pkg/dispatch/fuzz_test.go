package dispatch_test

import (
	"context"
	"testing"
)

// FuzzHandleBody: whatever a queue message holds, the handler neither
// panics nor loses it: it is reported for retry or dead-lettered, and
// nothing is sent.
func FuzzHandleBody(f *testing.F) {
	f.Add(`{"v":1}`)
	f.Add(`{"v":1,"id":"x","dedupKey":"k","trigger":"CustomEmailSender_SignUp","pool":"p","createdAt":"2030-01-01T00:00:00Z","expiresAt":"2099-01-01T00:00:00Z","sealed":{"alg":"AES-256-GCM","dk":"AAAA","iv":"AAAA","ct":"AAAA"}}`)
	f.Add(`not json`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, body string) {
		a := newSender("a")
		fx := newFixture(t, a)
		h := fx.handler()
		rec := record(body, map[string]string{"cogmail.trigger": body}, 1, fx.clock.Now())
		resp, err := h.Handle(context.Background(), batch(rec))
		if err != nil {
			t.Fatal(err)
		}
		if len(reported(resp))+len(fx.queue.DLQ()) != 1 {
			t.Fatalf("reported %v, dead-lettered %d: the message was lost or doubled", reported(resp), len(fx.queue.DLQ()))
		}
		if a.Calls() != 0 {
			t.Fatal("a message nobody sealed was sent")
		}
	})
}
