package localstack_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/internal/local/localstack"
	"github.com/cogmail/cogmail/internal/ops/dlq"
	"github.com/cogmail/cogmail/internal/testkit/browser"
	"github.com/cogmail/cogmail/pkg/cognito"
	"github.com/cogmail/cogmail/pkg/provider/ses/sesfake"
	"github.com/cogmail/cogmail/pkg/suppression"
)

// The inbox's colours that only its CSS paints.
var (
	headerBar  = color.RGBA{0x24, 0x3b, 0x53, 0xff}
	warnBanner = color.RGBA{0xff, 0xf3, 0xc4, 0xff} // a delivery history summed up
	failBanner = color.RGBA{0xff, 0xe3, 0xe3, 0xff} // not sent
	timelineH2 = color.RGBA{0xe4, 0xec, 0xf7, 0xff} // the timeline's title bar
)

// checkTimelineRoom fails unless the screenshot shows the timeline's title
// bar with at least a third of the window below it for the steps.
func checkTimelineRoom(t *testing.T, img image.Image) {
	t.Helper()
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		n := 0
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == timelineH2 {
				n++
			}
		}
		if n > b.Dx()/3 { // the title bar spans the view pane
			if room := b.Max.Y - y; room < b.Dy()/3 {
				t.Errorf("the timeline's title is at y=%d: %d px left for its steps, want at least %d", y, room, b.Dy()/3)
			}
			return
		}
	}
	t.Error("the screenshot shows no timeline title")
}

// TestInboxReplayedMessage: a message that failed on every provider until
// it was dead-lettered, then replayed and sent, is summed up in one line
// ("N failed attempts over 2 receives, dead-lettered and replayed, then
// sent via sendgrid"), not one tag per failure; its page shows the message
// id, the headers and a titled timeline with room, and reads in Chromium.
func TestInboxReplayedMessage(t *testing.T) {
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{
		// SendGrid and SES both refuse the message (permanent): refused
		// by every provider, it is dead-lettered at its first receive.
		Providers: "sendgrid,ses",
		Faults:    map[string]localstack.Fault{"sendgrid": {Status: 400}, "ses": {Status: 400}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := send(t, s, cognito.SignUp, "replayed@example.com")
	waitStep(t, s, id, "dead-lettered")
	s.SetFaults(nil)
	q, err := dlq.New(dlq.Options{Client: s.SQSClient, QueueURL: s.DLQURL})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := q.Replay(ctx, dlq.ReplayOptions{Source: s.QueueURL}); err != nil || res.Moved != 1 {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	d := outcome(t, s, id)
	a := d.Attempts
	if a == nil {
		t.Fatalf("no attempts summary: %+v", d)
	}
	// However many attempts dispatch's retry policy makes in a receive,
	// the summary counts what the timeline holds.
	var failed int
	var by []string
	count := map[string]int{}
	for _, st := range s.Timeline(id) {
		if st.Step == "attempt" && st.Outcome != "sent" {
			failed++
			k := st.Provider + ": " + st.Outcome
			if count[k] == 0 {
				by = append(by, k)
			}
			count[k]++
		}
	}
	want := fmt.Sprintf("%d failed attempts over 2 receives, dead-lettered and replayed, then sent via sendgrid", failed)
	if failed < 2 || a.Summary != want || a.Failed != failed || a.Receives != 2 || a.DeadLettered != 1 {
		t.Errorf("summary %+v, want %q", a, want)
	}
	for i, k := range by {
		by[i] = fmt.Sprintf("%s ×%d", k, count[k])
	}
	if got := strings.Join(a.ByProvider, "; "); got != strings.Join(by, "; ") || !strings.Contains(got, "ses: permanent") || !strings.Contains(got, "sendgrid: permanent") {
		t.Errorf("by provider: %q, want %q", got, by)
	}

	page := getText(t, s.URL+"/?id="+id)
	for _, w := range []string{
		want,                                  // the summary, once in the list and once over the message
		`<code>` + id + `</code>`,             // the message id, for the timeline API
		`/api/messages/` + id + `/timeline`,   // and a link to it
		"Headers (", "tag cogmail_message_id", // the email's headers and tags as SES received them
		"<h2>Timeline", // a titled timeline
		"dead-lettered", "replayed@example.com",
	} {
		if !strings.Contains(page, w) {
			t.Errorf("the inbox page lacks %q", w)
		}
	}
	if n := strings.Count(page, `class="tag fail"`); n != 0 {
		t.Errorf("the page shows %d red failure tags; want the one summary", n)
	}
	if n := strings.Count(page, want); n != 2 {
		t.Errorf("the summary appears %d times, want 2 (list and message)", n)
	}

	img := browser.Screenshot(t, browser.Chromium(t), s.URL+"/?id="+id)
	browser.CheckRendered(t, img, headerBar)
	if browser.Colours(img)[warnBanner] < 2000 {
		t.Error("the screenshot shows no delivery-history summary")
	}
	checkTimelineRoom(t, img)
}

// TestInboxSuppressedMessage: a message the suppression list stopped shows
// who it was for, which brand, from whom, its subject and why, and what to
// do about it, instead of a blank pane.
func TestInboxSuppressedMessage(t *testing.T) {
	s, err := localstack.Start(context.Background(), localstack.Options{Providers: "ses", BrandsFile: brandsFile})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	outcome(t, s, send(t, s, cognito.SignUp, sesfake.SimulatorBounce))
	suppressed(t, s, sesfake.SimulatorBounce, suppression.Bounce)
	id := send(t, s, cognito.ForgotPassword, sesfake.SimulatorBounce)
	d := outcome(t, s, id)
	if d.Status != "suppressed" || d.To != sesfake.SimulatorBounce || d.Brand != "Acme" || d.From.Address != "no-reply@acme.example" ||
		!strings.Contains(d.Subject, "password") || !strings.Contains(d.Why, "bounce reported by ses") {
		t.Fatalf("suppressed entry: %+v", d)
	}
	page := getText(t, s.URL+"/?id="+id)
	for _, w := range []string{
		"Not sent: " + sesfake.SimulatorBounce + " is on the suppression list",
		"cogmail suppressions remove " + sesfake.SimulatorBounce,
		"&lt;no-reply@acme.example&gt;", `<span class="tag brand">Acme</span>`, d.Subject, d.Why,
		`<code>` + id + `</code>`,
	} {
		if !strings.Contains(page, w) {
			t.Errorf("the inbox page lacks %q", w)
		}
	}
	if strings.Contains(page, "from <>") || strings.Contains(page, "&lt;&gt;") {
		t.Error("the page shows an empty sender")
	}
	img := browser.Screenshot(t, browser.Chromium(t), s.URL+"/?id="+id)
	browser.CheckRendered(t, img, headerBar)
	if browser.Colours(img)[failBanner] < 2000 {
		t.Error("the screenshot shows no not-sent banner")
	}
	checkTimelineRoom(t, img)
}

// waitStep waits until the message's timeline has a step.
func waitStep(t *testing.T, s *localstack.Stack, id, step string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		for _, st := range s.Timeline(id) {
			if st.Step == step {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("message %s never reached %q: %+v", id, step, s.Timeline(id))
		case <-time.After(50 * time.Millisecond):
		}
	}
}
