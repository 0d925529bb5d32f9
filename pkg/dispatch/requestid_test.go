package dispatch_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/cogmail/cogmail/pkg/dispatch"
	"github.com/cogmail/cogmail/pkg/dispatch/breaker"
)

// requestIDHandler adds the invocation's request id from the context, as
// lambdacontext.NewLogHandler does in the function (which writes to stdout
// only, so the test stands in for it).
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// Every line dispatch logs while handling a batch carries that batch's
// request id, the circuit breaker's transitions included (they are caused by
// a send, and logged with its context).
func TestEveryLogLineCarriesTheRequestID(t *testing.T) {
	t.Parallel()
	a, b := newSender("a"), newSender("b")
	a.final = unavailable("a")
	f := newFixture(t, a, b)
	h := f.handler(func(d *dispatch.Deps, o *dispatch.Options) {
		d.Logger = slog.New(requestIDHandler{slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
		o.Breaker = breaker.Options{Threshold: 2, Cooldown: 30 * time.Second}
	})
	for i := 1; i <= 4; i++ {
		if i == 4 { // the cooldown passes and a's probe succeeds: the breaker closes
			f.clock.Add(30 * time.Second)
			a.SetFinal(nil)
		}
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("req-%d", i)})
		rec, _ := f.message()
		if _, err := h.Handle(ctx, batch(rec)); err != nil {
			t.Fatal(err)
		}
	}
	transitions := map[string]any{}
	lines := logLines(t, f.logs.String())
	for _, l := range lines {
		if l["requestId"] == nil {
			t.Errorf("log line without requestId: %v", l)
		}
		if msg, _ := l["msg"].(string); len(msg) > len("circuit breaker ") && msg[:len("circuit breaker ")] == "circuit breaker " {
			transitions[msg] = l["requestId"]
		}
	}
	want := map[string]any{"circuit breaker open": "req-2", "circuit breaker half-open": "req-4", "circuit breaker closed": "req-4"}
	for msg, id := range want {
		if transitions[msg] != id {
			t.Errorf("%q logged with requestId %v, want %v (transitions: %v)", msg, transitions[msg], id, transitions)
		}
	}
}
