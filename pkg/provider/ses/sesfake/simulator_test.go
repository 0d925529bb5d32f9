package sesfake_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cogmail/cogmail/pkg/mailevent"
	"github.com/cogmail/cogmail/pkg/provider/ses/sesfake"
)

// TestMailboxSimulator: mail to the simulator's addresses publishes the
// event SES would, in a form mailevent reads as SES's own.
func TestMailboxSimulator(t *testing.T) {
	published := make(chan []byte, 4)
	fake := sesfake.New(sesfake.Options{Credentials: &creds, Publish: func(ev []byte) { published <- ev }})
	defer fake.Close()
	tests := []struct {
		to     string
		kind   mailevent.Kind
		bounce mailevent.BounceType
	}{
		{sesfake.SimulatorSuccess, mailevent.Delivered, ""},
		{sesfake.SimulatorBounce, mailevent.Bounce, mailevent.Permanent},
		{sesfake.SimulatorComplaint, mailevent.Complaint, ""},
	}
	for _, tt := range tests {
		t.Run(tt.to, func(t *testing.T) {
			if a := send(t, fake.URL(), strings.Replace(body, "ada@example.org", tt.to, 1), &creds); a.status != 200 {
				t.Fatalf("send: %d %s", a.status, a.body)
			}
			var ev []byte
			select {
			case ev = <-published:
			case <-time.After(10 * time.Second):
				t.Fatal("no event published")
			}
			evs, err := mailevent.ParseSES(ev)
			if err != nil || len(evs) != 1 {
				t.Fatalf("ParseSES: %v %v\n%s", evs, err, ev)
			}
			msgs := fake.Messages()
			e := evs[0]
			if e.Kind != tt.kind || e.Bounce != tt.bounce || e.Address != tt.to || e.ProviderMessageID != msgs[len(msgs)-1].MessageID {
				t.Errorf("event %+v", e)
			}
		})
	}
	if a := send(t, fake.URL(), body, &creds); a.status != 200 {
		t.Fatal(a)
	}
	select {
	case ev := <-published:
		t.Fatalf("an ordinary address published %s", ev)
	default:
	}
}
