package dispatch_test

import (
	"context"
	"testing"

	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/envelope"
	"github.com/cogmail/cogmail/pkg/provider"
	cmqueue "github.com/cogmail/cogmail/pkg/queue"
	"github.com/cogmail/cogmail/pkg/routing"
)

// TestBrandSenderOrderAndTrace: the sealed brand sender and reply-to are
// used; the brand's provider order from the routing wins over the routing's
// own; every line about the message carries the X-Ray trace header it came
// with, and the first one says it was received, with its receive count.
func TestBrandSenderOrderAndTrace(t *testing.T) {
	t.Parallel()
	a, b := newSender("ses"), newSender("smtp")
	f := newFixture(t, a, b)
	doc := `{"providers":["ses","smtp"],"brands":{"default":"Main","brands":[
	 {"name":"Main","from":{"address":"main@main.example"}},
	 {"name":"Admin","from":{"address":"admin@admin.example"},"providers":["smtp","ses"]}]}}`
	c, err := routing.Parse([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := f.handler(func(d *dispatch.Deps, _ *dispatch.Options) { d.Routes = routing.Static(c) })
	rec, _ := f.message(func(e *envelope.Envelope, p *envelope.Payload) {
		e.Brand = "Admin"
		p.From, p.FromName, p.ReplyTo, p.ReplyToName = "admin@admin.example", "Admin", "sec@admin.example", "Security"
	})
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	rec.Attributes[cmqueue.AWSTraceHeader] = trace
	if resp, _ := h.Handle(context.Background(), batch(rec)); len(reported(resp)) != 0 {
		t.Fatalf("reported %v", reported(resp))
	}
	if a.Calls() != 0 || b.Calls() != 1 {
		t.Fatalf("calls a=%d b=%d, want the brand's order (smtp first)", a.Calls(), b.Calls())
	}
	m := b.Sent()[0]
	if m.From != (provider.Address{Email: "admin@admin.example", Name: "Admin"}) || m.ReplyTo != (provider.Address{Email: "sec@admin.example", Name: "Security"}) {
		t.Errorf("from %v reply-to %v", m.From, m.ReplyTo)
	}
	lines := logLines(t, f.logs.String())
	if len(lines) == 0 || lines[0]["msg"] != "received" || lines[0]["receives"] != float64(1) {
		t.Fatalf("first line %v, want received with receives 1", lines)
	}
	for _, l := range lines {
		if l["traceHeader"] != trace || l["brand"] != "Admin" {
			t.Errorf("line %q lacks the trace header or brand: %v", l["msg"], l)
		}
		if l["msg"] == "sent" && (l["attemptMs"] == nil) {
			t.Errorf("sent line without attemptMs: %v", l)
		}
	}
}
