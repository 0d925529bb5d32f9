package localstack_test

import (
	"context"
	"encoding/json"
	"image/color"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/internal/testkit/browser"
)

// TestInboxAPIAndPages: the JSON API lists what was delivered, newest first,
// with the fields the docs promise; DELETE clears it; the inbox and queues
// pages render in headless Chromium.
func TestInboxAPIAndPages(t *testing.T) {
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{Faults: map[string]localstack.Fault{"ses": {Status: 503}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, smp := range s.RunSamples(ctx, 30*time.Second) {
		if smp.Err != nil {
			t.Fatalf("%s: %v", smp.Trigger.Short(), smp.Err)
		}
	}
	var msgs []map[string]any
	getJSON(t, s.URL+"/api/messages", &msgs)
	if len(msgs) != 8 {
		t.Fatalf("/api/messages lists %d, want 8", len(msgs))
	}
	for _, k := range []string{"to", "subject", "text", "html", "provider", "providerMessageId", "triggerSource", "deliveredAt", "failovers", "headers", "tags"} {
		if _, ok := msgs[0][k]; !ok {
			t.Errorf("/api/messages entries lack %q", k)
		}
	}
	// Each email carries the receipt its provider answered, and the inbox
	// page shows it.
	page := getText(t, s.URL+"/")
	for _, m := range msgs {
		id, _ := m["providerMessageId"].(string)
		if id == "" {
			t.Errorf("%v: no providerMessageId", m["messageId"])
		} else if !strings.Contains(page, id) {
			t.Errorf("the inbox page does not show the provider message id %q", id)
		}
	}
	var queues []localstack.QueueStatus
	getJSON(t, s.URL+"/api/queues", &queues)
	if len(queues) != 5 { // the emails queue and the events queue, each with its DLQ, and the ingest failure queue
		t.Errorf("/api/queues = %+v", queues)
	}
	urls := map[string]bool{}
	for _, q := range queues {
		urls[q.URL] = true
	}
	for _, u := range []string{s.QueueURL, s.DLQURL, s.IngestFailureQueueURL} {
		if !urls[u] {
			t.Errorf("/api/queues does not list %s", u)
		}
	}
	if page := getText(t, s.URL+"/queues"); !strings.Contains(page, s.QueueURL) || !strings.Contains(page, "held") {
		t.Errorf("the queues page shows neither the queue URLs nor held mail:\n%s", page)
	}

	bin := browser.Chromium(t)
	inbox := browser.Screenshot(t, bin, s.URL+"/")
	browser.CheckRendered(t, inbox, color.RGBA{0x24, 0x3b, 0x53, 0xff}) // the header bar
	// A delivery history summed up.
	if browser.Colours(inbox)[warnBanner] == 0 {
		t.Error("the inbox shows no failover summary though SES was down")
	}
	browser.CheckRendered(t, browser.Screenshot(t, bin, s.URL+"/queues"), color.RGBA{0x24, 0x3b, 0x53, 0xff})

	req, _ := http.NewRequest(http.MethodDelete, s.URL+"/api/messages", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /api/messages: %v %v", err, resp)
	}
	getJSON(t, s.URL+"/api/messages", &msgs)
	if len(msgs) != 0 {
		t.Errorf("after DELETE, %d messages remain", len(msgs))
	}
}

func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
