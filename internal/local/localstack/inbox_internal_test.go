package localstack

import (
	"strings"
	"testing"
)

// TestSummarise: a message's failures are summed up in one line, whatever
// their number, with the receives and dead letters that went with them.
func TestSummarise(t *testing.T) {
	t.Parallel()
	recv := Step{Function: "dispatch", Step: "received"}
	fail := func(p string) Step {
		return Step{Function: "dispatch", Step: "attempt", Provider: p, Outcome: "unavailable"}
	}
	sent := Step{Function: "dispatch", Step: "attempt", Provider: "ses", Outcome: "sent"}
	dead := Step{Function: "dispatch", Step: "dead-lettered"}
	ingest := Step{Function: "ingest", Step: "received"}
	repeat := func(n int, s ...Step) []Step {
		var out []Step
		for range n {
			out = append(out, s...)
		}
		return out
	}
	cat := func(parts ...[]Step) []Step {
		var out []Step
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		steps   []Step
		outcome string
		want    string // "" for no summary
		by      string
	}{
		{"first time", []Step{ingest, recv, sent}, "sent via ses", "", ""},
		{"one failover", []Step{ingest, recv, fail("sendgrid"), sent}, "sent via ses", "1 failed attempt over 1 receive, then sent via ses", "sendgrid: unavailable ×1"},
		{"19 over 5", cat([]Step{ingest}, repeat(4, recv, fail("ses"), fail("sendgrid"), fail("ses"), fail("sendgrid")), []Step{recv, fail("ses"), fail("ses"), fail("sendgrid"), sent}),
			"sent via ses", "19 failed attempts over 5 receives, then sent via ses", "ses: unavailable ×10; sendgrid: unavailable ×9"},
		{"replayed", cat(repeat(2, recv, fail("ses")), []Step{dead, recv, sent}), "sent via ses", "2 failed attempts over 3 receives, dead-lettered and replayed, then sent via ses", "ses: unavailable ×2"},
		{"replayed twice", cat(repeat(2, recv, fail("ses"), dead), []Step{recv, sent}), "sent via ses", "2 failed attempts over 3 receives, dead-lettered and replayed 2 times, then sent via ses", "ses: unavailable ×2"},
		{"suppressed after a retry", []Step{recv, fail("ses"), recv, {Function: "dispatch", Step: "suppressed"}}, "suppressed", "1 failed attempt over 2 receives, then suppressed", "ses: unavailable ×1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := summarise(tc.steps, tc.outcome)
			switch {
			case tc.want == "" && a != nil:
				t.Errorf("summary %+v, want none", a)
			case tc.want != "" && a == nil:
				t.Errorf("no summary, want %q", tc.want)
			case a != nil && (a.Summary != tc.want || strings.Join(a.ByProvider, "; ") != tc.by):
				t.Errorf("summary %q by %q, want %q by %q", a.Summary, a.ByProvider, tc.want, tc.by)
			}
		})
	}
}
