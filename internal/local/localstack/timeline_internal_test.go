package localstack

import (
	"log/slog"
	"testing"
	"time"
)

// TestBrandKnownBeforeIngestLogs: dispatch can deliver a message before the
// ingest goroutine that enqueued it has logged "enqueued" (seen under load in
// TestTwoBrandsEndToEnd: the inbox showed no brand). Dispatch's own
// "received" line, logged before it sends, names the brand.
func TestBrandKnownBeforeIngestLogs(t *testing.T) {
	tl := newTimeline()
	const id = "4677509bece9503227aca8992fb9c7b0"
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "received", 0)
	r.AddAttrs(slog.String("messageId", id), slog.String("brand", "Acme Admin"), slog.Int("receives", 1))
	tl.record("dispatch", r, nil)
	if got := tl.brand(id); got != "Acme Admin" {
		t.Fatalf("brand after dispatch's received line alone = %q, want Acme Admin", got)
	}
}
