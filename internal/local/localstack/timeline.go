package localstack

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Step is one point in a message's timeline, built from the functions' own
// log lines (what CloudWatch holds in AWS; docs/operations.md has the Logs
// Insights query that prints the same). Only whitelisted fields are read:
// names, counts, classes and timings, never a code, an address or a body.
type Step struct {
	At       time.Time `json:"at"`
	OffsetMs float64   `json:"offsetMs"` // since ingest received the event
	Function string    `json:"function"` // ingest or dispatch
	// Step is received, decrypted, rendered, sealed, enqueued (ingest);
	// received, attempt, sent, retry, dead-lettered, or a skipped
	// outcome's reason: suppressed, throttled, duplicate, expired (dispatch).
	Step      string  `json:"step"`
	Provider  string  `json:"provider,omitempty"`
	Outcome   string  `json:"outcome,omitempty"`   // an attempt's: sent, or its failure class
	LatencyMs float64 `json:"latencyMs,omitempty"` // an attempt's
	Receives  int     `json:"receives,omitempty"`  // dispatch: the SQS receive count
	Reason    string  `json:"reason,omitempty"`
	Brand     string  `json:"brand,omitempty"`
	// TraceHeader is the X-Ray header dispatch received with the message
	// (AWSTraceHeader), the one ingest sent it with.
	TraceHeader string `json:"traceHeader,omitempty"`
}

// timeline gathers every message's steps from the log records of both
// functions. It is safe for concurrent use.
type timeline struct {
	mu    sync.Mutex
	steps map[string][]Step // by message id
	order []string          // message ids, oldest first, to bound memory
}

// maxTimelines bounds what the local stack remembers.
const maxTimelines = 10000

func newTimeline() *timeline { return &timeline{steps: map[string][]Step{}} }

// of returns a message's steps: ingest's first, in stage order, then
// dispatch's in time order. Ingest's steps always come first even if
// dispatch logged before ingest wrote its own line (the line follows
// SendMessage, which dispatch may beat); offsets count from ingest's receipt.
func (t *timeline) of(id string) []Step {
	t.mu.Lock()
	steps := slices.Clone(t.steps[id])
	t.mu.Unlock()
	slices.SortStableFunc(steps, func(a, b Step) int {
		if a.Function != b.Function {
			if a.Function == "ingest" {
				return -1
			}
			return 1
		}
		return a.At.Compare(b.At)
	})
	var start time.Time
	if len(steps) > 0 && steps[0].Function == "ingest" {
		start = steps[0].At
	}
	for i := range steps {
		if !start.IsZero() {
			steps[i].OffsetMs = float64(steps[i].At.Sub(start).Microseconds()) / 1000
		}
	}
	return steps
}

func (t *timeline) brand(id string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.steps[id] {
		if s.Brand != "" {
			return s.Brand
		}
	}
	return ""
}

func (t *timeline) add(id string, steps ...Step) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.steps[id]; !ok {
		t.order = append(t.order, id)
		if len(t.order) > maxTimelines {
			delete(t.steps, t.order[0])
			t.order = t.order[1:]
		}
	}
	t.steps[id] = append(t.steps[id], steps...)
}

func (t *timeline) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.steps, t.order = map[string][]Step{}, nil
}

// record turns one log record into steps.
func (t *timeline) record(function string, r slog.Record, attrs []slog.Attr) {
	v := map[string]slog.Value{}
	for _, a := range attrs {
		v[a.Key] = a.Value.Resolve()
	}
	r.Attrs(func(a slog.Attr) bool { v[a.Key] = a.Value.Resolve(); return true })
	id := v["messageId"].String()
	if id == "" || v["messageId"].Kind() == slog.KindAny {
		return
	}
	str := func(k string) string {
		if x, ok := v[k]; ok {
			return x.String()
		}
		return ""
	}
	num := func(k string) float64 {
		x, ok := v[k]
		if !ok {
			return 0
		}
		switch x.Kind() {
		case slog.KindFloat64:
			return x.Float64()
		case slog.KindInt64:
			return float64(x.Int64())
		case slog.KindUint64:
			return float64(x.Uint64())
		}
		f, _ := strconv.ParseFloat(x.String(), 64)
		return f
	}
	base := Step{At: r.Time, Function: function, Receives: int(num("receives")), TraceHeader: str("traceHeader")}
	at := func(ms float64) time.Time {
		return r.Time.Add(-time.Duration((num("enqueuedMs") - ms) * float64(time.Millisecond)))
	}
	if function == "ingest" {
		if r.Message != "enqueued" {
			return
		}
		brand := str("brand")
		t.add(id,
			Step{At: at(0), Function: function, Step: "received", Brand: brand},
			Step{At: at(num("decryptedMs")), Function: function, Step: "decrypted"},
			Step{At: at(num("renderedMs")), Function: function, Step: "rendered"},
			Step{At: at(num("sealedMs")), Function: function, Step: "sealed"},
			Step{At: r.Time, Function: function, Step: "enqueued"},
		)
		return
	}
	s := base
	switch msg := r.Message; {
	case msg == "received":
		// Dispatch names the brand (a clear envelope attribute) on this line,
		// before it sends: so the brand is known when the provider has the
		// email, whether or not ingest has logged "enqueued" yet.
		s.Step, s.Brand = "received", str("brand")
	case msg == "provider failed":
		s.Step, s.Provider, s.Outcome, s.LatencyMs = "attempt", str("provider"), str("class"), num("attemptMs")
	case msg == "sent":
		a := s
		a.Step, a.Provider, a.Outcome, a.LatencyMs = "attempt", str("provider"), "sent", num("attemptMs")
		t.add(id, a)
		s.Step, s.Provider, s.LatencyMs = "sent", str("provider"), num("ms")
	case msg == "dead-lettered":
		s.Step, s.Reason = "dead-lettered", str("reason")
	case msg == "not sent; deleted from the queue":
		// Dispatch's skipped outcomes: the reason is the step (suppressed,
		// throttled, duplicate, expired).
		s.Step = str("reason")
	case msg == "not sent; SQS will deliver it again":
		s.Step, s.Reason = "retry", str("reason")
	default:
		return
	}
	t.add(id, s)
}

// timelineHandler is a slog.Handler in front of a function's log handler
// that feeds the timeline, then passes every record on unchanged.
type timelineHandler struct {
	tl       *timeline
	function string
	next     slog.Handler
	attrs    []slog.Attr
}

func (h *timelineHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *timelineHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		h.tl.record(h.function, r, h.attrs)
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *timelineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &timelineHandler{tl: h.tl, function: h.function, next: h.next.WithAttrs(as), attrs: append(slices.Clone(h.attrs), as...)}
}

func (h *timelineHandler) WithGroup(name string) slog.Handler {
	return &timelineHandler{tl: h.tl, function: h.function, next: h.next.WithGroup(name), attrs: h.attrs}
}
