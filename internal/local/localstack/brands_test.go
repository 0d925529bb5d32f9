package localstack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/pkg/cognito"
)

// The documented example: Acme (consumer app, the default) and Acme Admin
// (admin console, its own SignUp templates).
var brandsFile = filepath.Join("..", "..", "..", "docs", "brands.yaml")

// TestTwoBrandsEndToEnd: events from two app clients arrive with their
// brand's sender, name and look; an unknown client gets the default brand.
// Each message has a timeline in order, holding no code and no address.
func TestTwoBrandsEndToEnd(t *testing.T) {
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{BrandsFile: brandsFile})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cases := []struct {
		client, brand, from, fromName, background, subject, provider string
	}{
		{"4example0consumer0app0id1", "Acme", "no-reply@acme.example", "Acme", "#f0fdfa", "Confirm", "ses"},
		// Acme Admin's own provider order puts SMTP first.
		{"7example0admin0console0id", "Acme Admin", "admin-no-reply@acme.example", "Acme Admin", "#fef2f2", "Your Acme Admin console code", "smtp"},
		{"9unknown0client0id000000", "Acme", "no-reply@acme.example", "Acme", "#f0fdfa", "Confirm", "ses"},
	}
	ids := make([]string, len(cases))
	codes := make([]string, len(cases))
	for i, tc := range cases {
		codes[i] = localstack.NewCode(cognito.SignUp)
		ct, err := s.Encrypter.Encrypt(ctx, codes[i], localstack.SamplePool)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := localstack.Event(localstack.EventSpec{Trigger: cognito.SignUp, Pool: localstack.SamplePool, UserName: "u",
			Email: "user@example.com", Locale: "en", ClientID: tc.client}, ct)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Invoke(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = res.MessageID
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got := s.WaitDelivered(wctx, ids...)
	for i, tc := range cases {
		d, ok := got[ids[i]]
		if !ok {
			t.Fatalf("%s: not delivered", tc.client)
		}
		if d.Provider != tc.provider {
			t.Errorf("%s: sent by %s, want %s", tc.client, d.Provider, tc.provider)
		}
		if d.Brand != tc.brand || d.From.Address != tc.from || d.From.Name != tc.fromName {
			t.Errorf("%s: brand %q from %+v, want %q %s <%s>", tc.client, d.Brand, d.From, tc.brand, tc.fromName, tc.from)
		}
		if !strings.Contains(d.HTML, tc.background) || !strings.HasPrefix(d.Subject, tc.subject) || !strings.Contains(d.Text, codes[i]) {
			t.Errorf("%s: not in the brand's look: subject %q, background %s in HTML: %v", tc.client, d.Subject, tc.background, strings.Contains(d.HTML, tc.background))
		}
	}

	// GET /api/messages carries from and brand.
	resp, err := http.Get(s.URL + "/api/messages")
	if err != nil {
		t.Fatal(err)
	}
	var listed []map[string]any
	err = json.NewDecoder(resp.Body).Decode(&listed)
	resp.Body.Close()
	if err != nil || len(listed) != len(cases) {
		t.Fatalf("/api/messages: %v, %d entries", err, len(listed))
	}
	for _, m := range listed {
		from, _ := m["from"].(map[string]any)
		if m["brand"] == "" || from["address"] == "" || from["name"] == nil {
			t.Errorf("/api/messages entry lacks brand or from: %v", m)
		}
	}

	for i, id := range ids {
		checkTimeline(t, s, id, codes[i])
	}

	// The inbox shows the selected email's brand, sender and timeline.
	resp, err = http.Get(s.URL + "/?id=" + ids[1])
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`<span class="tag brand">Acme Admin</span>`, "admin-no-reply@acme.example", `<section class="timeline"><h2>Timeline`, " ms</td><td>dispatch</td><td>sent</td>"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("inbox page lacks %q", want)
		}
	}
}

// checkTimeline reads a delivered message's timeline through the API and
// checks its steps' order and that it holds no code and no address.
func checkTimeline(t *testing.T, s *localstack.Stack, id, code string) {
	t.Helper()
	resp, err := http.Get(s.URL + "/api/messages/" + id + "/timeline")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("timeline of %s: status %d, %v", id, resp.StatusCode, err)
	}
	for _, secret := range []string{code, "user@example.com", "acme.example"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("timeline of %s holds %q: %s", id, secret, raw)
		}
	}
	var steps []localstack.Step
	if err := json.Unmarshal(raw, &steps); err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, st := range steps {
		names = append(names, st.Function+" "+st.Step)
		if i > 0 && st.OffsetMs < steps[i-1].OffsetMs && st.Function == steps[i-1].Function {
			t.Errorf("step %d (%s) at %.3f ms is before step %d at %.3f ms", i, st.Step, st.OffsetMs, i-1, steps[i-1].OffsetMs)
		}
	}
	want := []string{"ingest received", "ingest decrypted", "ingest rendered", "ingest sealed", "ingest enqueued",
		"dispatch received", "dispatch attempt", "dispatch sent"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("timeline of %s:\n got %v\nwant %v", id, names, want)
	}
	for _, st := range steps {
		switch {
		case st.Function == "dispatch" && st.Step == "received" && (st.Receives != 1 || !strings.HasPrefix(st.TraceHeader, "Root=1-")):
			t.Errorf("dispatch received: receives %d, trace header %q", st.Receives, st.TraceHeader)
		case st.Step == "attempt" && (st.Provider == "" || st.Outcome != "sent" || st.LatencyMs <= 0):
			t.Errorf("attempt without provider, outcome or latency: %+v", st)
		}
	}
}
